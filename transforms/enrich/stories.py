"""Story clusters: copies of one story (exact or lightly edited) share a ``story_id``.

Wire copy is republished with another headline, template, dateline and credit line, sometimes
a sentence dropped or added. Each body becomes a set of word 5-grams (NFKC, case-folded, kicker
and dateline lines above the first paragraph and short credit lines below the last left out),
summarised by a MinHash signature (128 permutations, fixed seed, datasketch 2's ``affine32``
scheme computed here in numpy, so the same text gives the same signature on every machine and
the same values datasketch gives; only computing a signature needs numpy, so the flow process,
which reads signatures and compares them, never imports it). LSH banding (32 bands of 4 rows)
turns the signature into band keys ``b<band>:<hash>`` plus one exact key ``x:<hash>`` of the
normalised text. The keys are indexed (``story_bands``), so one terms query finds the candidates
of a new article among earlier runs; a candidate joins only when the estimated Jaccard
similarity of the signatures (kept in ``_source``, not indexed) reaches ``THRESHOLD`` — band
collisions alone would merge different stories on the same topic.

A story keeps the id it got first (the first copy's document id), so it is stable across runs;
its lead is the earliest copy by published date, then URL: the same copies give the same lead
in every run (the time a run fetched a copy would move it from run to run).

Everything here is pure: ``signature``, ``StoryClusters`` and the request bodies. The cluster
I/O (looking up earlier copies, demoting leads) is ``newsflow.store.stories.assign_stories``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS, ROWS = 32, 4  # candidate curve: 50% chance at Jaccard 0.42, 99.9% at 0.7
SEED = 1
SCHEME = "affine32"
# Estimated Jaccard a candidate must reach to join a story. bench/stories.py: copies of one
# story (a sentence or paragraph dropped or added, credit line, kicker) score >= 0.59; different
# stories, including follow-ups that reuse two background paragraphs, <= 0.18.
THRESHOLD = 0.5
MIN_WORDS = 12  # below this a body says too little to cluster on resemblance alone
MIN_PARAGRAPH_WORDS = 8
MAX_WORDS = 20_000  # a huge body: its first words decide, the signature cost stays bounded
_WORD = re.compile(r"\w+")
# Datelines differ between copies ("GOTHENBURG (Nordic Wire) —" vs "GOTHENBURG, Sweden —").
_DATELINE = re.compile(r"^[^\n]{0,80}?\s[—–-]{1,2}\s")
STORY_FIELDS = ("id", "url", "published", "story_id", "story_lead")


def story_words(body: str) -> list[str]:
    """The words a story is compared on: no kicker/byline lines above the first paragraph, no
    dateline, no short credit lines after the last paragraph; NFKC, case-folded."""
    lines = [ln for ln in unicodedata.normalize("NFKC", body or "").splitlines() if ln.strip()]
    # Section kickers and bylines above the first paragraph vary between copies.
    while len(lines) > 1 and len(_WORD.findall(lines[0])) < MIN_PARAGRAPH_WORDS:
        lines.pop(0)
    # So do credit lines below it: "(Nordic Wire) Additional reporting by ...".
    while len(lines) > 1 and len(_WORD.findall(lines[-1])) < MIN_PARAGRAPH_WORDS:
        lines.pop()
    text = _DATELINE.sub("", "\n".join(lines), count=1)
    return _WORD.findall(text.casefold())[:MAX_WORDS]


def story_key(body: str) -> str:
    """Exact-duplicate key: hash of the normalised words, 16 hex characters."""
    return hashlib.sha1(" ".join(story_words(body)).encode("utf-8")).hexdigest()[:16]


# A signature's values: numpy's uint32 where computed, plain ints where read back (``decode``).
HashValues: TypeAlias = "np.ndarray | Sequence[int]"
_BAND = struct.Struct(f"<{ROWS}I")
_SIGNATURE = struct.Struct(f"<{NUM_PERM}I")


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The ``NUM_PERM`` affine permutations ``h -> a * h + b (mod 2**32)``, ``a`` odd, drawn as
    datasketch 2 draws them for ``MinHash(seed=SEED, scheme="affine32")``.

    Computed here rather than taken from datasketch: importing it imports scipy, over a second
    of every command's start-up for twenty lines of arithmetic."""
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def minhash(shingles: Collection[bytes]) -> np.ndarray:
    """MinHash values (``NUM_PERM`` uint32) of a non-empty set of byte strings: the first four
    bytes of each one's SHA-1 (little-endian), mixed by the MurmurHash3 finalizer, through each
    permutation, minimum per permutation; what datasketch's ``MinHash.update_batch`` gives with
    the same seed and scheme (``tests/unit/test_stories.py`` checks it). uint32 arithmetic wraps,
    which is the modulo the scheme means."""
    # The digests joined and read as little-endian uint32, every fifth (a SHA-1 digest is five
    # of them): the first four bytes of each, without a Python int per shingle.
    import numpy as np

    sha1 = hashlib.sha1
    joined = b"".join([h.digest() for h in map(sha1, shingles)])
    hashes = np.frombuffer(joined, dtype="<u4")[::5].astype(np.uint32)
    # MurmurHash3's 32-bit finalizer, which the affine32 scheme applies to each input hash.
    s1, m1, s2, m2 = (np.uint32(v) for v in (16, 0x85EBCA6B, 13, 0xC2B2AE35))
    hashes ^= hashes >> s1
    hashes *= m1
    hashes ^= hashes >> s2
    hashes *= m2
    hashes ^= hashes >> s1
    a, b = _permutations()
    return (hashes[:, None] * a + b).min(axis=0)


@dataclass(frozen=True)
class StorySignature:
    """MinHash values of a body and the keys indexed for it."""

    hashvalues: np.ndarray  # NUM_PERM uint32
    bands: tuple[str, ...]

    def encode(self) -> str:
        """Base64 of the little-endian uint32 values (the ``story_signature`` field)."""
        return base64.b64encode(self.hashvalues.astype("<u4").tobytes()).decode("ascii")

    @staticmethod
    def decode(text: str) -> tuple[int, ...]:
        """Hash values from ``encode``; ``ValueError`` when they are not a signature."""
        raw = base64.b64decode(text, validate=True)
        if len(raw) != _SIGNATURE.size:
            raise ValueError(f"story signature of {len(raw)} bytes, expected {_SIGNATURE.size}")
        return _SIGNATURE.unpack(raw)


def band_keys(hashvalues: HashValues) -> list[str]:
    """LSH band keys ``b<band>:<12 hex>`` of a signature (its little-endian uint32 bytes)."""
    bands = (_BAND.pack(*hashvalues[i * ROWS : (i + 1) * ROWS]) for i in range(BANDS))
    return [f"b{i:02d}:{hashlib.sha1(band).hexdigest()[:12]}" for i, band in enumerate(bands)]


def signature(body: str) -> StorySignature | None:
    """Signature and keys of a body; ``None`` when it has fewer than ``MIN_WORDS`` words."""
    words = story_words(body)
    if len(words) < MIN_WORDS:
        return None
    # Each run of SHINGLE_WORDS words: the word list shifted by 0 to n - 1 and zipped (the
    # shortest shift ends it), joined and encoded by C-level maps (no slice, no Python frame
    # per shingle).
    grams = zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)
    shingles = set(map(str.encode, map(" ".join, grams)))
    values = minhash(shingles)
    exact = "x:" + hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]
    return StorySignature(values, (exact, *band_keys(values)))


def jaccard(a: HashValues, b: HashValues) -> float:
    """MinHash estimate of the Jaccard similarity of two shingle sets."""
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def lead_key(published: str | None, url: str) -> tuple:
    """Sort key of a copy: earliest published (a date alone counts as its midnight UTC), then
    URL; copies without a date sort after those with one. Not the time a copy was fetched:
    each run fetches again, and copies published the same day would swap the lead (and be
    written again) from one run to the next."""
    return (*_instant(published), url)


def _instant(value: str | None) -> tuple[int, float]:
    if not value:
        return (1, 0.0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return (1, 0.0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (0, moment.timestamp())


@dataclass
class StoryMember:
    """One article as the clustering sees it."""

    doc_id: str
    story_id: str
    hashvalues: HashValues | None
    bands: tuple[str, ...]
    key: tuple  # lead_key
    lead: bool = False  # the flag the index holds (or will hold) for it
    indexed: bool = False  # read from the index (an earlier run), not from this run

    @classmethod
    def from_source(cls, source: dict[str, Any], indexed: bool = False) -> StoryMember:
        """A member from an indexed document (or a document about to be indexed)."""
        raw = source.get("story_signature")
        try:
            values = StorySignature.decode(raw) if raw else None
        except ValueError:
            values = None  # a damaged signature: still a member, matched only by its keys
        return cls(
            doc_id=source["id"],
            story_id=source.get("story_id") or source["id"],
            hashvalues=values,
            bands=tuple(source.get("story_bands") or ()),
            key=lead_key(source.get("published"), source["url"]),
            lead=bool(source.get("story_lead", True)),
            indexed=indexed,
        )


@dataclass
class Assignment:
    story_id: str
    lead: bool
    similarity: float  # best estimated Jaccard with the story joined (1.0 for a new story)


@dataclass
class StoryClusters:
    """Story assignment for one run, in the main process: every member seen so far (this run's
    articles and those the index returned), its band keys and each story's lead."""

    threshold: float = THRESHOLD
    # Members kept, oldest forgotten first, so a run's memory does not grow with its size
    # (about 4.5 KB each). Copies of a wire story arrive close together; an older story is
    # still found in the index once a refresh has made it searchable.
    max_members: int = 5_000
    members: dict[str, StoryMember] = field(default_factory=dict)
    # band key -> doc id, or list of doc ids once keys collide (most keys have one member: a
    # set each would cost ~200 bytes x 33 keys per article of the run)
    by_band: dict[str, str | list[str]] = field(default_factory=dict)
    leads: dict[str, str] = field(default_factory=dict)  # story_id -> lead doc_id
    pending_demotions: set[str] = field(default_factory=set)  # indexed leads no longer leads

    def remember(self, member: StoryMember) -> None:
        """Add a member the index returned; this run's own version of it wins."""
        if member.doc_id in self.members:
            return
        self._add(member)

    def _band_members(self, band: str) -> list[str]:
        found = self.by_band.get(band)
        return [] if found is None else [found] if isinstance(found, str) else found

    def _unband(self, old: StoryMember) -> None:
        for band in _keys_of(old):
            ids = [i for i in self._band_members(band) if i != old.doc_id]
            if ids:
                self.by_band[band] = ids[0] if len(ids) == 1 else ids
            else:
                self.by_band.pop(band, None)

    def _forget_oldest(self) -> None:
        while len(self.members) > max(self.max_members, 1):
            old = self.members.pop(next(iter(self.members)))
            self._unband(old)
            if self.leads.get(old.story_id) == old.doc_id:
                del self.leads[old.story_id]

    def _add(self, member: StoryMember) -> None:
        old = self.members.get(member.doc_id)
        if old is not None:
            self._unband(old)
        self.members[member.doc_id] = member
        for band in member.bands:
            found = self.by_band.get(band)
            if found is None:
                self.by_band[band] = member.doc_id
            elif isinstance(found, str):
                if found != member.doc_id:
                    self.by_band[band] = [found, member.doc_id]
            elif member.doc_id not in found:
                found.append(member.doc_id)
        if member.hashvalues is not None and member.bands:
            # The band keys follow from the signature; only the exact key is kept.
            member.bands = tuple(b for b in member.bands if b.startswith("x:"))
        lead_id = self.leads.get(member.story_id)
        lead = self.members.get(lead_id) if lead_id else None
        if lead is None or lead.doc_id == member.doc_id or member.key < lead.key:
            if lead is not None and lead.doc_id != member.doc_id:
                self._demote(lead)
            self.leads[member.story_id] = member.doc_id
            member.lead = True
        else:
            self._demote(member)
        self._forget_oldest()

    def _demote(self, member: StoryMember) -> None:
        if member.lead:
            member.lead = False
            self.pending_demotions.add(member.doc_id)

    def _best_story(self, new: StoryMember) -> tuple[str, float] | None:
        scores: dict[str, float] = {}
        for band in new.bands:
            for doc_id in self._band_members(band):
                other = self.members[doc_id]
                if doc_id == new.doc_id:
                    continue
                if band.startswith("x:"):
                    sim = 1.0  # same normalised words
                elif new.hashvalues is None or other.hashvalues is None:
                    continue
                else:
                    sim = jaccard(new.hashvalues, other.hashvalues)
                if sim >= self.threshold and sim > scores.get(other.story_id, -1.0):
                    scores[other.story_id] = sim
        if not scores:
            return None
        story = min(scores, key=lambda s: (-scores[s], s))
        return story, scores[story]

    def assign(self, batch: Sequence[StoryMember]) -> list[Assignment]:
        """Story of each new article, earliest first so that the lead is settled in one pass.

        An article already indexed keeps its story while it still resembles it; a new one joins
        the most similar story among the verified candidates, else starts its own (its id)."""
        order = sorted(range(len(batch)), key=lambda i: batch[i].key)
        indexed_before = {
            m.doc_id: m.indexed and m.lead
            for m in (self.members.get(new.doc_id) for new in batch)
            if m is not None
        }
        out: dict[int, Assignment] = {}
        for i in order:
            new = batch[i]
            known = self.members.get(new.doc_id)
            similarity = 1.0
            if (
                known is not None
                and known.hashvalues is not None
                and new.hashvalues is not None
                and jaccard(known.hashvalues, new.hashvalues) >= self.threshold
            ):
                story = known.story_id  # a re-run of the same article stays where it was
            else:
                if known is not None and self.leads.get(known.story_id) == known.doc_id:
                    del self.leads[known.story_id]
                found = self._best_story(new)
                story, similarity = found or (new.doc_id, 1.0)
            new.story_id = story
            new.lead = False
            self._add(new)
            out[i] = Assignment(story, new.lead, similarity)
        for i, new in enumerate(batch):
            # A later article of this batch may have taken the lead from an earlier one.
            out[i].lead = new.lead
            # A new article's flag goes with it; an indexed one may not be written again (its
            # content unchanged), so its demotion stays pending.
            if indexed_before.get(new.doc_id) and not new.lead:
                self.pending_demotions.add(new.doc_id)
            else:
                self.pending_demotions.discard(new.doc_id)
        return [out[i] for i in range(len(batch))]


def _keys_of(member: StoryMember) -> list[str]:
    """Every key a member was indexed under (band keys recomputed from its signature)."""
    keys = list(member.bands)
    if member.hashvalues is not None:
        keys += band_keys(member.hashvalues)
    return keys


def assign_documents(clusters: StoryClusters, documents: list[dict[str, Any]]) -> None:
    """Set ``story_id`` and ``story_lead`` of index documents in place (no I/O)."""
    members = [StoryMember.from_source(doc) for doc in documents]
    for doc, result in zip(documents, clusters.assign(members), strict=True):
        doc["story_id"], doc["story_lead"] = result.story_id, result.lead


# --------------------------------------------------------------------------- requests


def story_bands_query(bands: Iterable[str], size: int) -> dict[str, Any]:
    """The one request that finds the indexed copies sharing a band key with an article."""
    return {
        "query": {"terms": {"story_bands": sorted(set(bands))}},
        "size": size,
        "_source": [*STORY_FIELDS, "story_bands", "story_signature"],
    }


def story_leads_query(story_ids: Iterable[str], size: int) -> dict[str, Any]:
    """The request for the current leads of stories (a lead may share no band with a copy)."""
    return {
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"story_id": sorted(set(story_ids))}},
                    {"term": {"story_lead": True}},
                ]
            }
        },
        "size": size,
        "_source": [*STORY_FIELDS, "story_bands", "story_signature"],
    }

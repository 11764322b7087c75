from __future__ import annotations

from newsflow.transforms.enrich.entities import Mention, group_mentions, normalize_name


def test_normalize_name_strips_possessives_articles_and_punctuation():
    assert normalize_name("Kyiv’s") == "Kyiv"
    assert normalize_name("the  United States") == "United States"
    assert normalize_name("“NATO”,") == "NATO"
    assert normalize_name("Reuters'") == "Reuters"


def test_mentions_group_by_name_with_majority_type_and_counts():
    mentions = [
        Mention("Kyiv", "GPE", 10),
        Mention("Kyiv’s", "GPE", 50),
        Mention("Kyiv", "PERSON", 90),
        Mention("the European Commission", "ORG", 5),
        Mention("European Commission", "ORG", 70),
        Mention("Monday", "DATE", 3),
        Mention("42", "CARDINAL", 4),
        Mention("NORWEGIAN", "NORP", 8),
    ]
    entities = {(e.name, e.type): e for e in group_mentions(mentions)}
    assert set(entities) == {
        ("Kyiv", "location"),
        ("European Commission", "organization"),
        ("NORWEGIAN", "group"),
    }
    assert entities["Kyiv", "location"].count == 3
    assert entities["European Commission", "organization"].first_offset == 5


def test_a_lone_surname_joins_the_only_full_name_it_belongs_to():
    mentions = [
        Mention("Vladimir Putin", "PERSON", 0),
        Mention("Putin", "PERSON", 40),
        Mention("Putin", "PERSON", 80),
        Mention("Anna Berg", "PERSON", 100),
        Mention("Lars Berg", "PERSON", 120),
        Mention("Berg", "PERSON", 140),
    ]
    entities = {e.name: e for e in group_mentions(mentions)}
    assert entities["Vladimir Putin"].count == 3
    assert "Putin" not in entities
    # Two people share the surname: the lone mention is not guessed, and is no third person.
    assert "Berg" not in entities
    assert entities["Anna Berg"].count == 1 and entities["Lars Berg"].count == 1


def test_a_surname_mistyped_by_the_model_still_joins_its_person():
    mentions = [
        Mention("Elin Bergqvist", "PERSON", 0),
        Mention("Bergqvist", "ORG", 50),
        Mention("Holmberg", "GPE", 70),
        Mention("Karin Holmberg", "PERSON", 90),
        Mention("Karin", "GPE", 120),
    ]
    entities = {e.name: e for e in group_mentions(mentions)}
    assert entities["Elin Bergqvist"].count == 2 and entities["Elin Bergqvist"].type == "person"
    assert entities["Karin Holmberg"].count == 2 and entities["Karin Holmberg"].first_offset == 70
    # Only a last name is taken from another type; a first name typed as a place stays.
    assert entities["Karin"].type == "location"


def test_entities_sorted_by_mentions_then_position():
    mentions = [
        Mention("Oslo", "GPE", 30),
        Mention("Bergen", "GPE", 10),
        Mention("Oslo", "GPE", 60),
    ]
    assert [e.name for e in group_mentions(mentions)] == ["Oslo", "Bergen"]

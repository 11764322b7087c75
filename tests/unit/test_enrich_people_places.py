"""Person and place rules on the shapes of real news text: suffixes, shared surnames, roles
and titles around a name, credits, lists in one span, names the model cuts short, venues,
and products that are no places.

Each test feeds ``group_mentions`` the mentions a model could produce with the text they come
from, so the rule is pinned down without depending on what the model does.
"""

from __future__ import annotations

from newsflow.transforms.enrich.entities import Mention, entity_candidates
from tests.support import resolve


def people(got: dict[str, str]) -> set[str]:
    return {name for name, facet in got.items() if facet == "person"}


def places(got: dict[str, str]) -> set[str]:
    return {name for name, facet in got.items() if facet == "location"}


def test_a_surname_joins_a_full_name_with_a_generational_suffix():
    text = "Patrick Carlineo Jr. was charged. Carlineo said he regretted it. Carlineo left."
    got = resolve(
        text, ("Patrick Carlineo Jr.", "PERSON"), ("Carlineo", "PERSON"), ("Carlineo", "PERSON")
    )
    assert people(got) == {"Patrick Carlineo Jr"}


def test_a_surname_two_people_share_is_no_third_person():
    text = (
        "Richard von Weizsäcker was president. His son Fritz von Weizsäcker was a doctor. "
        "The attacker knew von Weizsäcker from the clinic."
    )
    got = resolve(
        text,
        ("Richard von Weizsäcker", "PERSON"),
        ("Fritz von Weizsäcker", "PERSON"),
        ("von Weizsäcker", "PERSON"),
    )
    assert people(got) == {"Richard von Weizsäcker", "Fritz von Weizsäcker"}


def test_a_role_word_the_model_took_into_the_span_is_dropped():
    text = "Jonas Brodin scored, and rookie Emil Bemstrom added a goal for the home side."
    got = resolve(text, ("Jonas Brodin", "PERSON"), ("rookie Emil Bemstrom", "PERSON"))
    assert people(got) == {"Jonas Brodin", "Emil Bemstrom"}


def test_a_lowercase_title_before_a_lone_surname_makes_a_person():
    text = "Trump released the call with Ukrainian president Zelensky on Wednesday."
    got = resolve(text, ("Zelensky", "PERSON"))
    assert people(got) == {"Zelensky"}
    # Without the title nothing says the lone word is a person.
    bare = "Trump released the call with Zelensky on Wednesday."
    assert people(resolve(bare, ("Zelensky", "PERSON"))) == set()


def test_credits_and_handles_are_no_people():
    text = (
        "Maria Lindqvist said the vote was close.\n"
        "Caroline Hawley, BBC diplomatic correspondent\n"
        "The result surprised Lindqvist. Photo: Tomas Berglund\n"
        "(Reporting by Anna Kowalski; Editing by Peter Graff)\n"
        "Follow us on Twitter @Spacedotcom."
    )
    got = resolve(
        text,
        ("Maria Lindqvist", "PERSON"),
        ("Caroline Hawley", "PERSON"),
        ("Tomas Berglund", "PERSON"),
        ("Anna Kowalski", "PERSON"),
        ("Peter Graff", "PERSON"),
        ("Twitter @Spacedotcom", "PERSON"),
    )
    assert people(got) == {"Maria Lindqvist"}


def test_a_person_named_in_running_text_is_no_credit():
    text = "Caroline Hawley, the charity's director, said donations had doubled."
    assert people(resolve(text, ("Caroline Hawley", "PERSON"))) == {"Caroline Hawley"}


def test_a_span_listing_names_with_commas_is_split():
    text = "Robert Mueller testified. Voters tired of Mueller, Stormy and the tax returns."
    got = resolve(text, ("Robert Mueller", "PERSON"), ("Mueller, Stormy", "ORG"))
    assert got.get("Robert Mueller") == "person"
    assert "Mueller, Stormy" not in got
    # A place and its country in one span are two places.
    got = resolve("The summit opened in Paris, France on Monday.", ("Paris, France", "GPE"))
    assert places(got) == {"Paris", "France"}


def test_the_hyphenated_syllable_of_a_given_name_is_kept():
    text = "The plan was announced by president Moon Jae-in a year ago."
    assert people(resolve(text, ("Moon Jae", "PERSON"))) == {"Moon Jae-in"}
    # A compound after a name is not part of it.
    text = "Aid was cut by the Smith-led council. Smith said it was fair."
    got = resolve(text, ("Smith", "PERSON"), ("Smith", "PERSON"))
    assert people(got) == {"Smith"}


def test_washington_dc_is_the_city_not_the_state():
    text = "She studies at American University in Washington, D.C., where the team is based."
    assert places(resolve(text, ("Washington", "GPE"))) == {"Washington, D.C."}
    text = "Wildfires burned across Washington and Oregon."
    got = resolve(text, ("Washington", "GPE"), ("Oregon", "GPE"))
    assert places(got) == {"Washington", "Oregon"}


def test_a_name_after_a_title_is_a_person_not_the_town_of_that_name():
    text = "His mother, Queen Elizabeth, was said to have disapproved of the interview."
    got = resolve(text, ("Queen Elizabeth", "PERSON"))
    assert got == {"Queen Elizabeth": "person"}
    # A town named alone stays a town.
    text = "The family moved to Elizabeth, a city in New Jersey."
    assert places(resolve(text, ("Elizabeth", "GPE"))) == {"Elizabeth"}


def test_a_venue_the_model_typed_as_an_organisation_is_a_place():
    text = "June 19 -- PNC Music Pavilion, Charlotte, NC\nJune 20 -- Bridgestone Arena, Nashville"
    got = resolve(
        text,
        ("PNC Music Pavilion", "ORG"),
        ("Charlotte", "GPE"),
        ("Bridgestone Arena", "FAC"),
        ("Nashville", "GPE"),
    )
    assert {"PNC Music Pavilion", "Bridgestone Arena", "Charlotte"} <= places(got)


def test_a_product_named_short_or_by_its_model_word_is_no_place():
    text = (
        "The Amazon Echo Dot is $22 today. The Echo Dot sold out last year. "
        "The Brydge Max keyboard ships soon."
    )
    got = resolve(
        text,
        ("Amazon Echo Dot", "PRODUCT"),
        ("Echo Dot", "GPE"),
        ("Brydge Max", "GPE"),
    )
    assert places(got) == set()


def test_a_countrys_official_name_is_the_country():
    text = "Israel annexed the valley. It was a great day for the State of Israel, he said."
    got = resolve(text, ("Israel", "GPE"), ("the State of Israel", "GPE"))
    assert places(got) == {"Israel"}
    # "State of" before a name that is no country changes nothing.
    got = resolve("The State of Play report came out.", ("State of Play", "ORG"))
    assert places(got) == set()


def test_a_place_named_short_joins_the_one_longer_place_it_opens():
    text = (
        "Man stabbed on San Francisco Bay train\n"
        "A stabbing on a San Francisco Bay Area commuter train killed a man."
    )
    got = resolve(text, ("San Francisco Bay", "LOC"), ("San Francisco Bay Area", "LOC"))
    assert places(got) == {"San Francisco Bay Area"}
    # Two longer places it could open: it stays apart rather than guess.
    text = "Lake Tana Basin and Lake Tana Shore flooded; Lake Tana rose."
    got = resolve(
        text, ("Lake Tana Basin", "LOC"), ("Lake Tana Shore", "LOC"), ("Lake Tana", "LOC")
    )
    assert "Lake Tana" in places(got)


def test_a_person_named_like_the_start_of_a_product_is_that_product():
    text = "The Nintendo Switch Lite is $179. A Nintendo Switch bundle costs more."
    got = resolve(text, ("Nintendo Switch Lite", "PRODUCT"), ("Nintendo Switch", "PERSON"))
    assert people(got) == set()
    # A person a product is named after stays a person.
    text = "Tony Hawk's Pro Skater is back, and Tony Hawk said he was thrilled."
    got = resolve(text, ("Tony Hawk's Pro Skater", "PRODUCT"), ("Tony Hawk", "PERSON"))
    assert people(got) == {"Tony Hawk"}


def test_a_name_followed_by_a_us_state_code_is_a_town():
    text = (
        "June 29 -- PNC Bank Arts Center, Holmdel, NJ\nJune 30 -- Jones Beach Theater, Wantagh, NY"
    )
    got = resolve(text, ("Holmdel", "ORG"), ("Wantagh", "GPE"))
    assert {"Holmdel", "Wantagh"} <= places(got)
    # "in X" alone does not make a place of a name the model reads as an organisation.
    got = resolve("The bill died in Congress on Friday.", ("Congress", "ORG"))
    assert places(got) == set()


def test_a_politicians_party_and_state_names_the_state():
    text = "A man threatened Rep. Ilhan Omar (D-Minn.), prosecutors said."
    got = resolve(text, ("Ilhan Omar", "PERSON"))
    assert places(got) == {"Minnesota"}
    # A party letter before anything else names no state.
    got = resolve("The D-Day museum opened.", ("D-Day", "EVENT"))
    assert places(got) == set()


def test_a_hyphenated_given_name_is_shaped_like_a_name():
    text = "Eva-Marie Persson, the prosecutor, dropped the case. Persson said it was weak."
    got = resolve(text, ("Eva-Marie Persson", "ORG"), ("Persson", "PERSON"))
    assert people(got) == {"Eva-Marie Persson"}


def test_the_people_of_a_place_are_no_person_nor_place():
    text = "Delhiites woke to smog again. Londoners and Parisians fared better."
    got = resolve(text, ("Delhiites", "PERSON"), ("Londoners", "GPE"), ("Parisians", "PERSON"))
    assert people(got) == places(got) == set()
    # A surname that merely ends like a demonym stays a person.
    text = "Jan Peters said the vote was close. Peters left early."
    got = resolve(text, ("Jan Peters", "PERSON"), ("Peters", "PERSON"))
    assert people(got) == {"Jan Peters"}


def test_a_name_only_the_headline_gives_is_no_facet():
    text = (
        "Is Mary Poppins the new Bond? Ratings soar in Gotham\n\n"
        "Viewers in Leeds tuned in as Anna Berg hosted the show. Berg said it went well."
    )
    got = resolve(
        text,
        ("Mary Poppins", "PERSON"),
        ("Gotham", "GPE"),
        ("Leeds", "GPE"),
        ("Anna Berg", "PERSON"),
        ("Berg", "PERSON"),
    )
    assert people(got) == {"Anna Berg"} and places(got) == {"Leeds"}
    # A headline's name the article also gives stays.
    text = "Anna Berg wins in Leeds\n\nThe vote in Leeds went to Anna Berg, who said it was close."
    got = resolve(
        text, ("Anna Berg", "PERSON"), ("Leeds", "GPE"), ("Leeds", "GPE"), ("Anna Berg", "PERSON")
    )
    assert people(got) == {"Anna Berg"} and places(got) == {"Leeds"}


def test_a_span_is_split_into_two_places_only_on_good_evidence():
    text = "Commuters between Geneva and Annemasse face delays."
    got = resolve(text, ("Geneva and Annemasse", "GPE"))
    assert places(got) == {"Geneva", "Annemasse"}
    # "Save" is also a small town's name: that alone splits no deal's name into places.
    text = "Get the ESPN+ Package and Save on a year of games."
    got = resolve(text, ("ESPN+ Package and Save", "GPE"))
    assert "Savé" not in places(got)


def test_an_airline_named_after_a_place_is_no_place():
    text = "Bids came from Kazakhstan's Air Astana. The band played the Air Canada Centre."
    got = resolve(text, ("Kazakhstan", "GPE"), ("Air Astana", "GPE"), ("Air Canada Centre", "FAC"))
    assert got["Air Astana"] == "organization"
    assert {"Kazakhstan", "Air Canada Centre"} <= places(got)


def test_a_surname_the_model_often_calls_a_person_is_one():
    text = (
        "Voters back Hartwell. Hartwell's supporters cheered. Hartwell said he was ahead. "
        "Critics attacked Hartwell. Hartwell survives. The Hartwell campaign spent more. "
        "Polls favour Hartwell."
    )
    labels = ["ORG", "PERSON", "ORG", "PERSON", "ORG", "PERSON", "ORG"]
    got = resolve(text, *(("Hartwell", label) for label in labels))
    assert got == {"Hartwell": "person"}
    # One reading as a person among many as an organisation is chance.
    text = "Nordex grew. Nordex hired. Nordex sold. Nordex said it would expand."
    got = resolve(text, *(("Nordex", label) for label in ["ORG", "ORG", "ORG", "PERSON"]))
    assert got == {"Nordex": "organization"}


def test_only_a_list_of_people_vouches_for_a_name_in_it():
    def vouched(text: str, *spans: tuple[str, str]) -> dict[str, bool]:
        mentions, at = [], 0
        for written, label in spans:
            at = text.index(written, at)
            mentions.append(Mention(written, label, at))
        return {c.names["person"]: c.vouched for c in entity_candidates(mentions, text)}

    # A list of products is no cue that a name in it is a person.
    text = "Pokemon Sword Zacian, Zamazenta Editino and more are $299 today."
    got = vouched(text, ("Pokemon Sword Zacian", "PERSON"), ("Zamazenta Editino", "PERSON"))
    assert got["Zamazenta Editino"] is False
    # A list with people of common first names is.
    text = "Pieter van der Berg, Kevin O'Donnell and DeShawn Carter spoke."
    got = vouched(text, ("Pieter van der Berg", "PERSON"), ("Kevin O'Donnell", "PERSON"))
    assert got["Pieter van der Berg"] is True


def test_a_number_after_a_persons_name_is_no_part_of_it():
    # A result line or a table puts a count after the name; no person's name ends in one.
    text = "Scoring: Jonas Brodin 2 goals, Emil Bemstrom 1."
    got = resolve(text, ("Jonas Brodin 2 goals", "PERSON"), ("Emil Bemstrom 1", "PERSON"))
    assert people(got) == {"Jonas Brodin", "Emil Bemstrom"}
    # An organisation may end with a number: only a person's name is cut.
    assert resolve("Channel 4 said so.", ("Channel 4", "ORG")) == {"Channel 4": "organization"}


def test_a_name_listed_with_people_is_a_person():
    # Players of a result line bear first names no census list holds; the model often reads
    # them as teams. A list joins things of one kind.
    text = (
        "Jonathan Huberdeau, Colton Sceviour and Mike Hoffman also scored. "
        "Eric Robinson and Boone Jenner scored for the Blue Jackets."
    )
    got = resolve(
        text,
        ("Jonathan Huberdeau", "PERSON"),
        ("Colton Sceviour", "ORG"),
        ("Mike Hoffman", "PERSON"),
        ("Eric Robinson", "PERSON"),
        ("Boone Jenner", "ORG"),
        ("Blue Jackets", "ORG"),
    )
    assert {"Colton Sceviour", "Boone Jenner"} <= people(got)
    assert "Blue Jackets" not in people(got)
    # Not listed, or listed only with a surname ("at 2134 Caldwell Place, Harris said"), it
    # stays what the model says.
    alone = "The deal with Boone Jenner closed. Mike Hoffman left."
    got = resolve(alone, ("Boone Jenner", "ORG"), ("Mike Hoffman", "PERSON"))
    assert got["Boone Jenner"] == "organization"


def test_a_hyphenated_given_name_opens_with_a_first_name():
    text = "The teams were tied after Jo-Wilfried Tsonga cruised past Uchiyama 6-2, 6-1."
    got = resolve(text, ("Jo-Wilfried Tsonga", "ORG"))
    assert people(got) == {"Jo-Wilfried Tsonga"}


def test_a_place_a_reader_or_a_company_owns_is_a_thing():
    text = "Stream from your Echo Dot. Logitech's Zone Vibe costs less than Logitech's Zone Center."
    got = resolve(
        text,
        ("Echo Dot", "FAC"),
        ("Logitech", "ORG"),
        ("Zone Vibe", "LOC"),
        ("Logitech", "ORG"),
        ("Zone Center", "FAC"),
    )
    assert places(got) == {"Zone Center"}  # a venue word keeps a place
    # Unowned, the model's place stays one.
    assert places(resolve("They flew to Zone Vibe.", ("Zone Vibe", "GPE"))) == {"Zone Vibe"}


def test_a_word_in_ing_opening_a_sentence_is_no_part_of_a_name():
    text = "Following Jane Fonda's arrest, protests grew. Regarding Sam Smith, no one spoke."
    got = resolve(text, ("Following Jane Fonda's", "PERSON"), ("Regarding Sam Smith", "PERSON"))
    assert people(got) == {"Jane Fonda", "Sam Smith"}
    # A common given name in -ing is a name.
    got = resolve("Sterling Brown scored twice.", ("Sterling Brown", "PERSON"))
    assert people(got) == {"Sterling Brown"}


def test_a_firm_named_after_its_founder_is_an_organisation():
    text = "With Optilli, Balmond Studio creates an illusion. Peter Koros Design built the frame."
    got = resolve(text, ("Balmond Studio", "PERSON"), ("Peter Koros Design", "PERSON"))
    assert got == {"Balmond Studio": "organization", "Peter Koros Design": "organization"}


def test_a_players_deed_names_a_person_the_model_missed():
    text = (
        "Wild 4, Sabres 1: Zach Parise scored twice and Minnesota beat Buffalo. Linus Ullmark "
        "stopped 22 shots. Aleksander Barkov and Brett Connolly each had a goal. New Jersey "
        "scored late."
    )
    got = resolve(text, ("Minnesota", "GPE"), ("Linus Ullmark", "FAC"), ("New Jersey", "GPE"))
    assert people(got) == {"Zach Parise", "Linus Ullmark", "Aleksander Barkov", "Brett Connolly"}
    assert places(got) == {"Minnesota", "New Jersey"}


def test_a_place_that_wins_a_match_is_a_team():
    text = (
        "Eastern Michigan rolled past Northern Illinois, 45-17, on Tuesday. Minnesota (9-0) "
        "plays next. The storm hit Dekalb, and Chicago beat its heat record."
    )
    got = resolve(
        text,
        ("Eastern Michigan", "LOC"),
        ("Northern Illinois", "LOC"),
        ("Minnesota", "GPE"),
        ("Dekalb", "GPE"),
        ("Chicago", "GPE"),
    )
    teams = {"Eastern Michigan", "Northern Illinois", "Minnesota"}
    assert {n for n, t in got.items() if t == "organization"} == teams
    assert "Chicago" in places(got)


def test_a_courts_district_or_a_leagues_division_is_no_place():
    text = (
        "The U.S. attorney for the Southern District of New York spoke in Manhattan. The team "
        "leads the West Division. Hotels in the Central District were full."
    )
    got = resolve(
        text,
        ("the Southern District", "LOC"),
        ("New York", "GPE"),
        ("Manhattan", "GPE"),
        ("the West Division", "GPE"),
        ("the Central District", "LOC"),
    )
    assert places(got) == {"New York", "Manhattan", "Central District"}


def test_a_place_named_only_inside_a_longer_name_is_no_place():
    text = (
        "The New York State Attorney General is investigating. Fans saw the Oklahoma City "
        "Thunder play. Texas Gov. Greg Abbott spoke in Boston Monday."
    )
    got = resolve(
        text,
        ("New York State", "GPE"),
        ("Oklahoma City", "GPE"),
        ("Texas", "GPE"),
        ("Greg Abbott", "PERSON"),
        ("Boston", "GPE"),
    )
    assert places(got) == {"Texas", "Boston"}


def test_a_name_before_the_kind_of_thing_it_is_is_no_place():
    text = (
        "The tablet has a Liquid Retina display. Blue Origin's New Glenn vehicles fly from "
        "Cape Canaveral. The Times Square display drew crowds in Texas."
    )
    got = resolve(
        text,
        ("Liquid Retina", "LOC"),
        ("Blue Origin's", "ORG"),
        ("New Glenn", "GPE"),
        ("Cape Canaveral", "GPE"),
        ("Times Square", "FAC"),
        ("Texas", "GPE"),
    )
    assert places(got) == {"Cape Canaveral", "Times Square", "Texas"}


def test_a_place_named_only_before_a_players_role_is_a_team():
    text = (
        "Kosmos was co-founded by Barcelona soccer player Gerard Pique. Madrid coach Ancelotti "
        "spoke. Fans filled the streets of Madrid."
    )
    got = resolve(
        text,
        ("Barcelona", "GPE"),
        ("Gerard Pique", "PERSON"),
        ("Madrid", "GPE"),
        ("Madrid", "GPE"),
    )
    assert got["Barcelona"] == "organization"
    assert places(got) == {"Madrid"}


def test_a_models_tier_word_is_no_first_name():
    text = "Deals today.\n\nThe iPhone 11 Pro Max wasn't supposed to blow us away, but it did."
    assert people(resolve(text, ("Max", "PERSON"))) == set()


def test_a_result_in_sets_names_two_players():
    text = (
        "Canada reached the final after Vasek Pospisil edged Reilly Opelka 7-6 (5), 7-6 (7). "
        "Real Madrid beat Atletico Madrid 2-1."
    )
    got = resolve(text, ("Canada", "GPE"), ("Vasek Pospisil", "ORG"), ("Reilly Opelka", "PERSON"))
    assert people(got) == {"Vasek Pospisil", "Reilly Opelka"}

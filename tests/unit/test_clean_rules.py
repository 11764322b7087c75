"""Each extraction rule of the clean step on small hand-written pages: what goes, what stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml.html import fromstring

import newsflow.transforms.clean.extract as clean
from newsflow.transforms.clean.extract import (
    RULE_NAMES,
    clean_page,
    extract_body,
    title_without_site,
)
from newsflow.transforms.clean.rules import (
    TAIL_RULES,
    clean_lines,
    drop_link_paragraphs,
    is_byline,
    is_dateline,
    matching_rule,
    merge_split_body,
    prune_boilerplate,
    split_body,
    unwrap_layout_tables,
)
from newsflow.transforms.models import Article, Page

URL = "https://news.example/world/2026/harbour-cranes"
HEADLINE = "Harbour cranes fall silent as strike spreads"
PROSE = [
    "Cranes at the harbour stood idle on Tuesday as the dockworkers' strike spread to the night "
    "shift, leaving dozens of container ships waiting at anchor outside the breakwater.",
    "The union said its members would not return until the port authority withdrew plans to "
    "automate two of the four terminals, a change it says would cost six hundred jobs.",
    "Shipping lines have begun diverting vessels to neighbouring ports, and exporters warned "
    "that perishable goods could spoil within days if the dispute is not settled soon.",
    "Talks between the two sides are due to resume on Thursday under a government mediator, "
    "who has asked both to refrain from public statements until then.",
]


def page_html(body: str, *, title: str = HEADLINE) -> str:
    return (
        f"<html><head><title>{title} - Example News</title></head><body>"
        f"<header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav></header>"
        f"{body}<footer><p>About us. Contact. Careers.</p></footer></body></html>"
    )


def article(*extra_before: str, extra_after: str = "", paragraphs: list[str] = PROSE) -> str:
    """An <article> with a headline, the prose, and furniture before or after the prose."""
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return page_html(
        f"<article><h1>{HEADLINE}</h1>{''.join(extra_before)}{paras}{extra_after}</article>"
    )


def body_of(html: str, **kwargs) -> str:
    page = Page(URL, URL, html, "utf-8", datetime.now(UTC))
    result = clean_page(page, **kwargs)
    assert isinstance(result, Article), result
    return result.body


def assert_prose_kept(body: str) -> None:
    for paragraph in PROSE:
        assert paragraph in body


# --- line rules: whole pages -----------------------------------------------------------------


def test_headline_byline_and_dateline_opening_the_body_are_dropped():
    html = article(
        f"<p>{HEADLINE}</p><p>By Jane Doe | Example News</p><p>Nov 19, 2019 - 11:28 AM</p>"
    )
    body = body_of(html)
    assert_prose_kept(body)
    assert HEADLINE not in body and "Jane Doe" not in body and "11:28" not in body
    assert body.startswith(PROSE[0])


def test_furniture_inside_and_after_the_story_is_dropped_and_the_story_kept():
    furniture = [
        "Read more: Port strikes spread across the region",
        "Sign up for our Morning Tide newsletter to get the day's news in your inbox.",
        "Follow us on Twitter and Facebook.",
        "Photo by Gordon Pike/Harbour Gazette",
        "Jane Doe contributed reporting from Oslo.",
        "This story has been updated to include comment from the port authority.",
        "Copyright 2026 Example News. All rights reserved.",
    ]
    middle = "".join(f"<p>{line}</p>" for line in furniture[:4])
    after = "".join(f"<p>{line}</p>" for line in furniture[4:])
    html = page_html(
        f"<article><h1>{HEADLINE}</h1><p>{PROSE[0]}</p><p>{PROSE[1]}</p>{middle}"
        f"<p>{PROSE[2]}</p><p>{PROSE[3]}</p>{after}</article>"
    )
    body = body_of(html)
    assert_prose_kept(body)
    for line in furniture:
        assert line not in body


def test_a_disabled_rule_keeps_its_lines():
    html = article(extra_after="<p>Copyright 2026 Example News. All rights reserved.</p>")
    assert "All rights reserved" not in body_of(html)
    assert "All rights reserved" in body_of(html, disabled=frozenset({"legal"}))


# --- line rules: the patterns, with look-alike prose that must stay ---------------------------


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Read more: Alibaba poised to launch record listing", "teaser"),
        ("RELATED: Five things to know about the strike", "teaser"),
        ("Also on rt.com Journalists threatened with arrest", "teaser"),
        ("You may also like...", "block-heading"),
        ("Most read in world news", "block-heading"),
        ("0 Comments", "block-heading"),
        ("Comments are closed.", "block-heading"),
        ("Share this article", "block-heading"),
        ("There was an error processing your subscription.", "block-heading"),
        ("China furious at Macron for protest jibe [INSIGHT]", "tagged-link"),
        ("Get the latest updates right in your inbox. Subscribe to our newsletters.", "signup"),
        ("Sign Up: Stay on top of the latest breaking news!", "signup"),
        ("CLICK HERE TO GET THE FOX NEWS APP", "signup"),
        ("Follow Newsbeat on Instagram, Facebook, Twitter and YouTube.", "follow"),
        ("Like this story? Share it with a friend!", "follow"),
        ("If you enjoyed this article, we have a proposition for you: join us.", "promo"),
        ("If you buy something through this post, we may get a share of the sale.", "promo"),
        ("Copyright ©2019 Dow Jones & Company, Inc. All Rights Reserved", "legal"),
        ("© Reuters", "credit"),
        ("Photo: Marta Lindqvist / Harbour Gazette", "credit"),
        ("A worker guides cut bines into a machine. Photo by Gordon Pike/Valley Times", "credit"),
        ("Police at the scene on Monday. (Photo: John Smith)", "credit"),
    ],
)
def test_furniture_lines_match_their_rule(line, rule):
    assert matching_rule(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "Disney's tech teams patched the software as the company continued to sign up subscribers.",
        "The company said in its newsletter that profits fell sharply in the third quarter.",
        "Like many people on Twitter, she complained about the delays at the port.",
        "Users can download the app from both stores starting next week, the company said.",
        "If you value your privacy, experts say, you should turn off location tracking.",
        "The photo by the agency was widely shared on Monday.",
        "More than 100 protesters were killed, according to Amnesty International.",
        "Related companies in the sector also reported falling sales.",
        "Click here to get more information or download this game.",
    ],
)
def test_prose_that_looks_like_furniture_stays(line):
    assert matching_rule(line) is None


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("(Reporting by Will Dunham; Editing by Tom Brown)", "credits"),
        ("Fox News’ Jessica Napoli contributed to this report.", "credits"),
        ("Additional reporting by Joseph Hudak", "credits"),
        ("This story has been updated to include comment from the mayor.", "update-note"),
        ("Updated at 1:23 p.m.", "update-note"),
        ("SOURCE: Al Jazeera News", "legal"),
        ("Write to Al Root at allen.root@dowjones.com", "contact"),
        ("Reach the reporters on Twitter at http://twitter.com/example", "contact"),
        ("Tags: port, strike, Gothenburg", "tags"),
    ],
)
def test_closing_lines_are_dropped_only_at_the_end(line, rule):
    text = "\n".join([PROSE[0], line, PROSE[1], PROSE[2], PROSE[3], *PROSE, line])
    cleaned = clean_lines(text).splitlines()
    # In the middle of the story the line may be a quote or a fact: it stays there...
    assert cleaned[1] == line
    # ...and goes where it closes the article.
    assert cleaned[-1] == PROSE[-1]
    assert sum(1 for c in cleaned if c == line) == 1
    assert matching_rule(line, TAIL_RULES) == rule


def test_tag_list_under_a_tags_heading_is_dropped():
    text = "\n".join([*PROSE, "Tags", "stock car, interlagos, calendar 2018"])
    assert clean_lines(text) == "\n".join(PROSE)


def test_news_keywords_add_to_the_tags_what_they_lack():
    paras = "".join(f"<p>{p}</p>" for p in PROSE)
    head = (
        "<meta name='keywords' content='strike, harbour'>"
        "<meta name='news_keywords' content='Harbour, Ingrid Dahl,  port  authority'>"
    )
    html = page_html(f"<article><h1>{HEADLINE}</h1>{paras}</article>").replace(
        "<head>", f"<head>{head}"
    )
    page = Page(URL, URL, html, "utf-8", datetime.now(UTC))
    result = clean_page(page)
    assert isinstance(result, Article), result
    assert result.tags == ["strike, harbour", "Ingrid Dahl", "port authority"]


def test_bylines_and_datelines_are_short_lines_not_sentences():
    assert is_byline("By Jane Doe | Reuters")
    assert is_byline("Publicado por: Clarissa Borba - Categoria: Saúde")
    assert is_byline("Tempo de leitura: 2 minutos")
    assert not is_byline("By Tuesday, the storm had passed.")
    assert not is_byline("The video, posted on Twitter, went viral.")
    assert is_dateline("November 20, 2019 - 11:28 AMT")
    assert is_dateline("segunda-feira, 22 de janeiro de 2018 às 0:13")
    assert not is_dateline("20 November was the coldest day of the year")


def test_lead_rules_stop_at_the_first_paragraph_of_prose():
    text = "\n".join([PROSE[0], "By Jane Doe", HEADLINE, *PROSE[1:]])
    assert clean_lines(text, titles=[HEADLINE]) == text


def test_headline_matches_the_title_without_the_site_name():
    text = "\n".join([HEADLINE, *PROSE])
    assert clean_lines(text, titles=[f"{HEADLINE} | Example News"]) == "\n".join(PROSE)
    assert clean_lines(text, titles=["Another story"]) == text


NOW = datetime(2026, 10, 14, tzinfo=UTC)


def test_the_stored_title_loses_the_site_name_around_the_headline():
    url = "https://www.zdnet.com/article/best-gadgets/"
    assert title_without_site("Best gadgets of 2019 | ZDNet", "ZDNet", url) == (
        "Best gadgets of 2019"
    )
    # The host names the site when the site name says more ("Inexhibit magazine").
    assert title_without_site(
        "Light Festival | Inexhibit", "Inexhibit magazine", "https://inexhibit.com/a"
    ) == ("Light Festival")
    site = "LinkNaija | Nigeria's popular news platform"
    assert title_without_site(f"{site}: Kate Henshaw stuns", site, "https://linknaija.com/a") == (
        "Kate Henshaw stuns"
    )
    assert title_without_site("Deals Are Live, and More -", "IGN", "https://ign.com/a") == (
        "Deals Are Live, and More"
    )
    # A headline whose parts name something else stays whole, as does one that is the host.
    for title in ("Spider-Man - Far From Home review", "Obama - the years"):
        assert title_without_site(title, "Daily Planet", "https://obama.org/a") == title
    site_name = "<meta property='og:site_name' content='Example News'><title>"
    cleaned = clean_page(Page(URL, URL, article().replace("<title>", site_name), "utf-8", NOW))
    assert isinstance(cleaned, Article) and cleaned.title == HEADLINE


# --- tree rules --------------------------------------------------------------------------------


def tree_of(body: str):
    return fromstring(f"<html><body>{body}</body></html>")


def test_boilerplate_containers_go_by_class_word():
    tree = tree_of(
        "<div class='story'><p>" + " ".join(PROSE) + "</p></div>"
        "<div class='c-related_box'><p>Other story</p></div>"
        "<aside id='mostPopular'><p>Popular story</p></aside>"
        "<div class='has-commentsEnabled'><p>Reader comment</p></div>"
        "<div class='sharebar'>Share</div>"
    )
    assert prune_boilerplate(tree) == 4
    text = tree.text_content()
    assert PROSE[0] in text
    for gone in ("Other story", "Popular story", "Reader comment", "Share"):
        assert gone not in text


def test_a_container_holding_the_article_is_kept_whatever_its_class():
    # "content-with-sidebar", Blogger's "widget Blog": the class names furniture, the text
    # says article.
    tree = tree_of(
        "<div class='content-with-sidebar'>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</div>"
        "<div class='related'><p>Other story</p></div>"
    )
    assert prune_boilerplate(tree) == 1
    assert PROSE[3] in tree.text_content()


def test_class_words_match_whole_words_only():
    tree = tree_of(
        "<div class='uncommented promotional'>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</div>"
    )
    assert prune_boilerplate(tree) == 0


def test_caption_and_credit_containers_go():
    html = article(
        "<div class='image-caption'>Dockworkers at the gate on Tuesday.</div>"
        "<span class='photo-credit'>Marta Lindqvist</span>"
    )
    body = body_of(html)
    assert_prose_kept(body)
    assert "Dockworkers at the gate" not in body and "Lindqvist" not in body


def test_link_only_paragraphs_go_and_paragraphs_with_links_stay():
    tree = tree_of(
        "<p><strong><a href='/other'>SEE ALSO: PORT STRIKES SPREAD ACROSS EUROPE</a></strong></p>"
        "<p>The union <a href='/union'>said on Tuesday</a> that talks had failed.</p>"
        "<p><a href='/x'>Home</a></p>"
    )
    assert drop_link_paragraphs(tree) == 1
    text = tree.text_content()
    assert "SEE ALSO" not in text
    assert "talks had failed" in text and "Home" in text


def test_layout_tables_become_blocks_and_data_tables_stay():
    long_cell = "".join(f"<p>{p}</p>" for p in PROSE * 2)
    tree = tree_of(
        f"<table id='layout'><tr><td>{long_cell}</td><td>"
        "<table id='data'><tr><th>Port</th><th>Ships</th></tr><tr><td>Oslo</td><td>4</td></tr>"
        "</table></td></tr></table>"
        "<table id='small'><tr><td>Ticker</td><td>HD</td></tr></table>"
    )
    assert unwrap_layout_tables(tree) == 1
    assert tree.get_element_by_id("layout").tag == "div"
    data = tree.get_element_by_id("data")
    assert data.tag == "table" and [c.tag for c in data.iter("td", "th")] == ["th"] * 2 + ["td"] * 2
    assert tree.get_element_by_id("small").tag == "table"


def test_layout_table_page_yields_paragraphs_not_one_table_cell():
    cells = "".join(f"<p>{p}</p>" for p in PROSE * 2)
    html = page_html(
        "<table><tr><td><a href='/'>Home</a> <a href='/n'>News</a></td></tr>"
        f"<tr><td><h1>{HEADLINE}</h1>{cells}</td><td>Top stories: other headline</td></tr></table>"
    )
    lines = body_of(html).splitlines()
    assert all(p in lines for p in PROSE)
    # Without the rule the whole layout comes out as one table row.
    lines = body_of(html, disabled=frozenset({"layout-tables"})).splitlines()
    assert not any(p in lines for p in PROSE)


def chunked_article(chunks: int = 4) -> str:
    parts = []
    for i in range(chunks):
        paras = "".join(f"<p>{p} (part {i})</p>" for p in PROSE[:2])
        parts.append(
            f"<div class='grid grid-layout'><div class='article__body body'>{paras}</div>"
            f"<div class='ad-slot'>Advertisement</div></div>"
        )
    return page_html(f"<main><h1>{HEADLINE}</h1><div class='chunks'>{''.join(parts)}</div></main>")


def test_split_body_chunks_are_found_and_merged():
    tree = fromstring(chunked_article())
    chunks, chars = split_body(tree)
    assert len(chunks) == 4 and chars > 1000
    assert merge_split_body(tree) == 3
    merged = tree.find_class("article__body")
    assert len(merged) == 1 and merged[0].text_content().count("(part") == 8


def test_teaser_cards_are_not_a_split_body():
    cards = "".join(f"<div class='card'><p class='summary'>{p[:90]}</p></div>" for p in PROSE * 3)
    assert split_body(fromstring(page_html(cards))) == ([], 0)


def test_a_body_split_into_chunks_is_extracted_whole():
    body = body_of(chunked_article())
    assert all(f"(part {i})" in body for i in range(4))


def test_fallback_reads_the_page_as_it_came_when_the_tree_rules_left_nothing(monkeypatch):
    html = article()
    monkeypatch.setattr(clean, "prepare_tree", lambda tree, disabled: tree.body.clear())
    assert PROSE[0] in extract_body(html, URL)
    assert extract_body(html, URL, disabled=frozenset({"fallback"})) == ""


def test_every_rule_name_can_be_disabled():
    html = article(extra_after="<p>Copyright 2026 Example News. All rights reserved.</p>")
    for name in RULE_NAMES:
        assert PROSE[0] in extract_body(html, URL, disabled=frozenset({name})), name


def test_a_page_without_an_article_is_still_a_failure():
    page = Page(URL, URL, page_html(""), "utf-8", datetime.now(UTC))
    result = clean_page(page)
    assert not isinstance(result, Article)
    assert result.reason.startswith("no extractable article text")

"""Kibana saved objects: well-formed, self-contained, naming only mapped fields; the import call."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from newsflow.cli import app
from newsflow.kibana import (
    SAVED_OBJECTS_DIR,
    KibanaImportError,
    for_index,
    import_saved_objects,
    load_saved_objects,
    to_ndjson,
)
from newsflow.resources import MAPPINGS_DIR
from newsflow.search import DAY_FIELD
from newsflow.settings import Settings
from newsflow.transforms.batch.documents import to_document
from newsflow.transforms.models import EnrichedArticle
from tests.support import make_article

MAPPING = MAPPINGS_DIR / "articles.json"
PASSWORD = "pw-Zq81-never-shown"
# Lens's pseudo-field for "count of documents".
RECORDS = "___records___"
AGGREGATABLE = {
    "terms": {"keyword", "integer", "long", "short", "byte", "double", "float", "boolean"},
    "date_histogram": {"date", "date_nanos"},
}


def mapped_fields() -> dict[str, tuple[str, bool]]:
    """Every field path of the articles mapping -> (type, inside a nested object)."""
    fields: dict[str, tuple[str, bool]] = {}

    def walk(properties: dict[str, Any], prefix: str, nested: bool) -> None:
        for name, spec in properties.items():
            path = prefix + name
            kind = spec.get("type", "object")
            fields[path] = (kind, nested)
            for sub, sub_spec in spec.get("fields", {}).items():
                fields[f"{path}.{sub}"] = (sub_spec["type"], nested)
            if "properties" in spec:
                walk(spec["properties"], path + ".", nested or kind == "nested")

    walk(json.loads(MAPPING.read_text())["template"]["mappings"]["properties"], "", False)
    return fields


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_saved_objects(SAVED_OBJECTS_DIR)


def of_type(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == kind]


def lens_layers(lens: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]


# --- The objects as data ------------------------------------------------------------------


def test_every_line_is_one_saved_object():
    files = sorted(SAVED_OBJECTS_DIR.glob("*.ndjson"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n"), path.name
        for number, line in enumerate(text.splitlines(), start=1):
            obj = json.loads(line)
            where = f"{path.name}:{number}"
            assert isinstance(obj, dict), where
            assert {"type", "id", "attributes", "references"} <= obj.keys(), where
            # Without these Kibana would run every migration since 7.0 on the object.
            assert obj["coreMigrationVersion"] and obj["typeMigrationVersion"], where
            assert all({"id", "name", "type"} == r.keys() for r in obj["references"]), where


def test_the_set_has_a_data_view_search_charts_and_dashboard_with_stable_ids(objects):
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys))
    assert {o["type"] for o in objects} == {"index-pattern", "search", "lens", "dashboard"}
    (view,) = of_type(objects, "index-pattern")
    assert view["id"] == "newsflow-articles"
    assert view["attributes"]["title"] == Settings.model_fields["index"].default == "articles"
    assert view["attributes"]["timeFieldName"] == "fetched_at"
    (search,) = of_type(objects, "search")
    assert search["attributes"]["title"] == "Latest articles"
    assert len(of_type(objects, "lens")) == 6
    assert {lens["attributes"]["visualizationType"] for lens in of_type(objects, "lens")} == {
        "lnsXY",
        "lnsDatatable",
    }


def test_every_reference_resolves_to_an_object_in_the_set(objects):
    present = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in present, (obj["id"], ref)


def test_every_named_reference_is_declared(objects):
    for search in of_type(objects, "search"):
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        names = {r["name"]: r["type"] for r in search["references"]}
        assert names[source["indexRefName"]] == "index-pattern"
    for lens in of_type(objects, "lens"):
        names = {r["name"]: r["type"] for r in lens["references"]}
        for layer_id in lens_layers(lens):
            assert names[f"indexpattern-datasource-layer-{layer_id}"] == "index-pattern"
    (dashboard,) = of_type(objects, "dashboard")
    names = {r["name"]: r["type"] for r in dashboard["references"]}
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert len(names) == len(panels) == 7
    for panel in panels:
        assert names[f"{panel['panelIndex']}:{panel['panelRefName']}"] == panel["type"]


def test_dashboard_panels_fit_the_grid_without_overlapping(objects):
    (dashboard,) = of_type(objects, "dashboard")
    taken: set[tuple[int, int]] = set()
    for panel in json.loads(dashboard["attributes"]["panelsJSON"]):
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 48, panel
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel
        taken |= cells


def named_fields(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(object id, field) for every field that a saved object names."""
    found: list[tuple[str, str]] = []
    for view in of_type(objects, "index-pattern"):
        attrs = view["attributes"]
        found.append((view["id"], attrs["timeFieldName"]))
        for key in ("fieldAttrs", "fieldFormatMap", "runtimeFieldMap"):
            found += [(view["id"], f) for f in json.loads(attrs.get(key) or "{}")]
        found += [(view["id"], f["value"]) for f in json.loads(attrs.get("sourceFilters") or "[]")]
        found += [(view["id"], f["name"]) for f in json.loads(attrs.get("fields") or "[]")]
    for search in of_type(objects, "search"):
        found += [(search["id"], c) for c in search["attributes"]["columns"]]
        found += [(search["id"], field) for field, _ in search["attributes"]["sort"]]
    for lens in of_type(objects, "lens"):
        for layer in lens_layers(lens).values():
            for column in layer["columns"].values():
                if column.get("sourceField", RECORDS) != RECORDS:
                    found.append((lens["id"], column["sourceField"]))
    return found


def test_the_data_views_time_field_is_one_every_document_has(objects):
    # Kibana leaves out of every time-filtered view the documents without the data view's time
    # field: an article whose page says nothing of its date must still show.
    (view,) = of_type(objects, "index-pattern")
    time_field = view["attributes"]["timeFieldName"]
    assert mapped_fields()[time_field] == ("date", False)
    fetched = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    undated = make_article(
        "https://a.example/undated", "The council approved the harbour budget.", fetched_at=fetched
    )
    document = to_document(EnrichedArticle(undated, []), "run-1", model_name=Settings().spacy_model)
    assert document["published"] is None  # kept as it is: no date is made up
    assert document[time_field] == fetched.isoformat()


def test_every_field_a_saved_object_names_is_in_the_mapping(objects):
    fields = mapped_fields()
    named = named_fields(objects)
    assert {"published", "person", "organization", "location", "source", "title"} <= {
        f for _, f in named
    }
    for object_id, field in named:
        assert field in fields, f"{object_id} names {field!r}, which articles.json lacks"


def test_articles_over_time_counts_the_day_the_api_histogram_counts(objects):
    # The publisher's own day (published_day), not the UTC instant of `published`: an article
    # published at 23:30-05:00 falls on the same day in the chart as in the API.
    (chart,) = [o for o in of_type(objects, "lens") if o["id"] == "newsflow-articles-over-time"]
    histograms = [
        column
        for layer in lens_layers(chart).values()
        for column in layer["columns"].values()
        if column["operationType"] == "date_histogram"
    ]
    assert [column["sourceField"] for column in histograms] == [DAY_FIELD]


def test_lens_columns_aggregate_fields_that_can_be_aggregated(objects):
    fields = mapped_fields()
    for lens in of_type(objects, "lens"):
        for layer in lens_layers(lens).values():
            for column_id, column in layer["columns"].items():
                operation = column["operationType"]
                if operation == "count":
                    assert column["sourceField"] == RECORDS
                    continue
                kind, nested = fields[column["sourceField"]]
                # Lens cannot aggregate inside nested objects (entities.*, quotes.*).
                assert not nested, (lens["id"], column_id)
                assert kind in AGGREGATABLE[operation], (lens["id"], column_id, kind)


def test_lens_visualizations_use_only_columns_their_layer_defines(objects):
    for lens in of_type(objects, "lens"):
        layers = lens_layers(lens)
        for layer in layers.values():
            assert layer["columnOrder"] == list(layer["columns"])
            for column in layer["columns"].values():
                order_by = column.get("params", {}).get("orderBy", {})
                if order_by.get("type") == "column":
                    assert order_by["columnId"] in layer["columns"]
        vis = lens["attributes"]["state"]["visualization"]
        if lens["attributes"]["visualizationType"] == "lnsXY":
            used = [
                (vis_layer["layerId"], a)
                for vis_layer in vis["layers"]
                for a in [vis_layer["xAccessor"], *vis_layer["accessors"]]
            ]
        else:
            used = [(vis["layerId"], c["columnId"]) for c in vis["columns"]]
        for layer_id, column_id in used:
            assert column_id in layers[layer_id]["columns"], (lens["id"], column_id)


def test_cooccurrence_table_rows_are_people_by_organizations(objects):
    (table,) = [o for o in of_type(objects, "lens") if o["id"] == "newsflow-person-organization"]
    (layer,) = lens_layers(table).values()
    rows = [layer["columns"][c].get("sourceField") for c in layer["columnOrder"]]
    assert rows == ["person", "organization", RECORDS]


def test_for_index_renames_only_the_data_view(objects):
    renamed = for_index(objects, "news")
    assert [o["attributes"]["title"] for o in of_type(renamed, "index-pattern")] == ["news"]
    assert [o for o in renamed if o["type"] != "index-pattern"] == [
        o for o in objects if o["type"] != "index-pattern"
    ]
    assert of_type(objects, "index-pattern")[0]["attributes"]["title"] == "articles"


def test_loader_names_the_file_and_line_of_a_bad_line(tmp_path):
    (tmp_path / "a.ndjson").write_text('{"type":"lens","id":"x","attributes":{}}\n\nnot json\n')
    with pytest.raises(ValueError, match=r"a\.ndjson:3: not JSON"):
        load_saved_objects(tmp_path)
    (tmp_path / "a.ndjson").write_text('{"id":"x"}\n')
    with pytest.raises(ValueError, match=r"a\.ndjson:1: not a saved object"):
        load_saved_objects(tmp_path)


# --- The import request, against a stand-in for Kibana -----------------------------------


class FakeKibana:
    """Records each request; answers with ``status`` and ``answer`` like Kibana's import API."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.answer: dict[str, Any] = {"success": True, "successCount": 0}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                url = urlsplit(self.path)
                fake.requests.append(
                    {
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                payload = json.dumps(fake.answer).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def multipart_file(request: dict[str, Any]) -> tuple[str | None, str | None, bytes]:
    """(form field name, filename, content) of the single part of a multipart body."""
    head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request["body"])
    (part,) = list(message.iter_parts())
    name = part.get_param("name", header="content-disposition")
    return name, part.get_filename(), part.get_payload(decode=True)


def test_import_posts_the_ndjson_as_a_multipart_file_with_xsrf_and_basic_auth(kibana, objects):
    ndjson = to_ndjson(objects)
    kibana.answer = {"success": True, "successCount": len(objects)}
    count = import_saved_objects(kibana.url, ndjson, username="elastic", password=PASSWORD)
    assert count == len(objects) == 9
    (request,) = kibana.requests
    assert request["path"] == "/api/saved_objects/_import"
    assert request["query"] == {"overwrite": ["true"]}
    assert request["headers"]["kbn-xsrf"] == "true"
    expected = base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert multipart_file(request) == ("file", "newsflow.ndjson", ndjson)
    assert load_saved_objects(SAVED_OBJECTS_DIR) == [
        json.loads(line) for line in ndjson.decode().splitlines()
    ]


def test_import_with_an_api_key_a_space_and_no_overwrite(kibana):
    kibana.answer = {"success": True, "successCount": 1}
    ndjson = b'{"type":"index-pattern","id":"x","attributes":{"title":"x"},"references":[]}\n'
    count = import_saved_objects(
        kibana.url + "/s/news/", ndjson, api_key="a2V5", username="ignored", overwrite=False
    )
    assert count == 1
    (request,) = kibana.requests
    assert request["path"] == "/s/news/api/saved_objects/_import"
    assert request["query"] == {}
    assert request["headers"]["Authorization"] == "ApiKey a2V5"


def test_refused_credentials_give_kibanas_reason_without_the_password(kibana):
    kibana.status = 401
    kibana.answer = {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "[security_exception]: unable to authenticate user [elastic]",
    }
    with pytest.raises(KibanaImportError) as caught:
        import_saved_objects(kibana.url, b"{}\n", username="elastic", password=PASSWORD)
    message = str(caught.value)
    assert caught.value.status_code == 401
    assert "HTTP 401" in message and "unable to authenticate user [elastic]" in message
    assert PASSWORD not in message and PASSWORD not in repr(caught.value)


def test_objects_kibana_refuses_are_listed_in_the_error(kibana):
    errors = [
        {
            "id": "newsflow-overview",
            "type": "dashboard",
            "title": "newsflow overview",
            "error": {
                "type": "missing_references",
                "references": [{"type": "lens", "id": "newsflow-top-people"}],
            },
        },
        {
            "id": "newsflow-latest-articles",
            "type": "search",
            "error": {"type": "unknown", "message": f"bad request for {PASSWORD}"},
        },
    ]
    kibana.answer = {"success": False, "successCount": 7, "errors": errors}
    with pytest.raises(KibanaImportError) as caught:
        import_saved_objects(kibana.url, b"{}\n", username="elastic", password=PASSWORD)
    message = str(caught.value)
    assert "imported 7 objects; 2 failed" in message
    assert "dashboard/newsflow-overview: missing_references lens/newsflow-top-people" in message
    assert "search/newsflow-latest-articles: unknown" in message
    assert PASSWORD not in message
    assert caught.value.errors == errors


def test_unreachable_kibana_is_a_clear_error_without_credentials():
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://elastic:{PASSWORD}@127.0.0.1:{port}"
    with pytest.raises(
        KibanaImportError, match=r"cannot reach Kibana at http://127\.0\.0\.1:"
    ) as e:
        import_saved_objects(url, b"{}\n", timeout=5)
    assert PASSWORD not in str(e.value)


# --- The command --------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> pytest.MonkeyPatch:
    for name in ("KIBANA_URL", "ES_API_KEY", "ES_USERNAME", "ES_PASSWORD", "ES_CA_CERTS"):
        monkeypatch.delenv(f"NEWSFLOW_{name}", raising=False)
    monkeypatch.delenv("NEWSFLOW_INDEX", raising=False)
    monkeypatch.delenv("NEWSFLOW_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no newsflow.yaml from the working directory
    return monkeypatch


def test_command_without_kibana_url_exits_2(clean_env):
    result = CliRunner().invoke(app, ["kibana", "import"])
    assert result.exit_code == 2
    assert "NEWSFLOW_KIBANA_URL is not set" in result.output


def test_command_imports_the_objects_for_the_configured_alias(clean_env, kibana):
    clean_env.setenv("NEWSFLOW_KIBANA_URL", kibana.url)
    clean_env.setenv("NEWSFLOW_ES_USERNAME", "elastic")
    clean_env.setenv("NEWSFLOW_ES_PASSWORD", PASSWORD)
    clean_env.setenv("NEWSFLOW_INDEX", "news")
    kibana.answer = {"success": True, "successCount": 9}
    result = CliRunner().invoke(app, ["kibana", "import"])
    assert result.exit_code == 0, result.output
    assert "imported 9 saved objects" in result.output
    (request,) = kibana.requests
    sent = [json.loads(line) for line in multipart_file(request)[2].decode().splitlines()]
    assert [o["attributes"]["title"] for o in of_type(sent, "index-pattern")] == ["news"]
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_command_failure_exits_1_without_the_password(clean_env, kibana):
    clean_env.setenv("NEWSFLOW_KIBANA_URL", kibana.url)
    clean_env.setenv("NEWSFLOW_ES_USERNAME", "elastic")
    clean_env.setenv("NEWSFLOW_ES_PASSWORD", PASSWORD)
    kibana.status = 401
    reason = "[security_exception]: unable to authenticate user [elastic] for [/_security/x]"
    kibana.answer = {"statusCode": 401, "error": "Unauthorized", "message": reason}
    result = CliRunner().invoke(app, ["kibana", "import"])
    assert result.exit_code == 1
    assert "HTTP 401" in result.output and PASSWORD not in result.output
    assert reason in " ".join(result.output.split())  # printed as text, not as markup

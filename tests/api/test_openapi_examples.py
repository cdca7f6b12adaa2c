"""Every request body in the OpenAPI document has an example that its own model accepts, every route has a
tag, and docs/api.md is what the document generates now (`make docs`)."""
import re

import jsonschema
import pytest

import app  # noqa: F401 - registers every route, so ROUTES is complete when the tests are collected
from chalicelib.api.examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from chalicelib.caller import validate
from chalicelib.domain.errors import ValidationFailed
from chalicelib.api.http import ROUTES
from chalicelib.schemas import resolve
from tools import api_docs

BODIES = sorted({resolve(spec.body) for spec in ROUTES if spec.body is not None}, key=lambda model: model.__name__)


@pytest.fixture(scope="module")
def document():
    return api_docs.build_document()


def test_every_request_body_in_the_document_has_an_example(api):
    served = api.get("/openapi.json").body
    missing = []
    for spec in ROUTES:
        if spec.body is None:
            continue
        content = served["paths"][spec.path][spec.method.lower()]["requestBody"]["content"]
        (media,) = content.values()
        if media.get("example") != REQUEST_EXAMPLES.get(resolve(spec.body).__name__):
            missing.append(f"{spec.method} {spec.path}")
        if "example" not in media:
            missing.append(f"{spec.method} {spec.path}: no example")
    assert not missing, f"add them to chalicelib/api/examples.py: {missing}"


@pytest.mark.parametrize("model", BODIES, ids=lambda model: model.__name__)
def test_each_example_is_a_valid_request_of_its_own_model(model):
    example = REQUEST_EXAMPLES[model.__name__]
    try:
        validate(model, example, where="body")  # what a route does with a body: the same errors, the same rules
    except ValidationFailed as error:
        pytest.fail(f"the example of {model.__name__} is refused: {[d.__dict__ for d in error.details]}")


@pytest.mark.parametrize("model", BODIES, ids=lambda model: model.__name__)
def test_each_example_matches_the_documented_schema(model, document):
    """What a client reading the document believes: the example is valid by the JSON schema too (a field
    accepted only under another name would fail here)."""
    root = {"components": document["components"], "$ref": f"#/components/schemas/{model.__name__}"}
    jsonschema.Draft202012Validator(root).validate(REQUEST_EXAMPLES[model.__name__])


def test_no_example_is_left_without_its_body():
    assert set(REQUEST_EXAMPLES) == {model.__name__ for model in BODIES}


@pytest.mark.parametrize("name", sorted(RESPONSE_EXAMPLES))
def test_each_answer_example_matches_its_routes_documented_answer(name, document):
    """An example answer is shown with the route that answers that model, and is what the document says it
    answers (the success envelope, data and pagination)."""
    shown = [(path, method) for path, ops in document["paths"].items() for method, op in ops.items()
             for response in op["responses"].values()
             if next(iter(response.get("content", {}).values()), {}).get("example") == RESPONSE_EXAMPLES[name]]
    assert shown, f"no route answers {name}"
    for path, method in shown:
        response = next(r for r in document["paths"][path][method]["responses"].values() if "content" in r)
        schema = response["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator({"components": document["components"], **schema}).validate(
            RESPONSE_EXAMPLES[name])


def test_a_wrong_example_is_caught():
    """The check above can fail: an example that breaks its model is refused."""
    from chalicelib.schemas.exchange import PlaceBid

    with pytest.raises(ValidationFailed):
        validate(PlaceBid, {**REQUEST_EXAMPLES["PlaceBid"], "amount": "-1"}, where="body")


def test_every_operation_has_a_tag_the_document_lists(document):
    listed = {tag["name"] for tag in document["tags"]}
    untagged = [f"{method.upper()} {path}" for path, ops in document["paths"].items() for method, op in ops.items()
                if len(op.get("tags", [])) != 1 or not op["tags"][0] or op["tags"][0] not in listed]
    assert not untagged
    assert [spec.tag for spec in ROUTES if not spec.tag] == []


def test_the_api_docs_are_current(document):
    expected = api_docs.render(document)
    assert api_docs.TARGET.exists(), "docs/api.md is missing: run `make docs`"
    assert api_docs.TARGET.read_text() == expected, "docs/api.md is stale: run `make docs`"


def test_the_api_docs_show_every_operation_and_example(document):
    text = api_docs.TARGET.read_text()
    for path, ops in document["paths"].items():
        for method in ops:
            assert f"### `{method.upper()} {path}`" in text
    assert '"auction_id": "0b9e2f4c-7d1a-4e8b-a3c5-d6e7f8091a2b"' in text  # an example, as JSON
    assert not re.findall(r"\]\((?:\.\.|/)|/work/|\.\./shared", text), "docs/api.md points outside the repo"

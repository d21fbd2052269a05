"""docs/openapi.yaml as a contract the tests hold real answers to.

The schemas are validated by python3-jsonschema (Draft 2020-12, the
dialect of OpenAPI 3.1); this module only finds, for a request's method
and path and the answer's status, the response object the document
declares, and checks the answer against it: the status is declared, every
required header is there, every header the service sets is declared and
matches its schema, the media type is declared and the body matches its
schema. Requests can be checked against the requestBody the same way.
"""

import functools
import json
import os
import re

import jsonschema
import yaml

from .env import REPO

SPEC = os.path.join(REPO, "docs", "openapi.yaml")

# The headers the service itself sets: an answer that carries one the
# document does not declare for that response is a gap in the document.
SERVICE_HEADERS = ("cache-control", "verify-warning", "verify-request-id",
                   "retry-after", "allow")

# Declared in the document, set by a change that lands beside this one
# (issue 9): required once merged. The lead empties this set at merge,
# with t/openapi_pending_batch_health.py renamed to a test_ file.
PENDING_HEADERS = set()


@functools.lru_cache(maxsize=None)
def load(path=SPEC):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec, obj):
    """Follow local $refs ("#/components/...") until an object without."""
    seen = 0
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), "only local references: %s" % ref
        obj = spec
        for part in ref[2:].split("/"):
            obj = obj[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        assert seen < 20, "reference loop at %s" % ref
    return obj


def validator(spec, schema):
    """A Draft 2020-12 validator of @schema whose references resolve in
    the whole document; formats (date) checked."""
    resolver = jsonschema.RefResolver(base_uri="", referrer=spec)
    return jsonschema.Draft202012Validator(
        schema, resolver=resolver,
        format_checker=jsonschema.draft202012_format_checker)


def _where(e):
    return "/".join(str(p) for p in e.absolute_path) or "(top)"


def schema_errors(spec, schema, instance):
    """Each fault as "path: message"; for a oneOf/anyOf that nothing
    fits, what each branch found (the message alone names no field)."""
    out = []
    for e in validator(spec, schema).iter_errors(instance):
        msg = e.message
        if e.context:
            msg = "fits no branch: " + "; ".join(
                "%s: %s" % (_where(c), c.message[:200]) for c in e.context)
        out.append("%s: %s" % (_where(e), msg))
    return out


def _template_re(template):
    parts = re.split(r"(\{[^}]+\})", template)
    rx = "".join("(.+)" if p.startswith("{") else re.escape(p)
                 for p in parts)
    return re.compile("^" + rx + "$")


def operation(spec, method, path):
    """The operation object for @method on @path (without a query), or
    None: a literal path before a templated one, as OpenAPI says."""
    paths = spec["paths"]
    method = method.lower()
    for template in sorted(paths, key=lambda t: "{" in t):
        if _template_re(template).match(path):
            return paths[template].get(method)
    return None


def media_type(content_type):
    return content_type.split(";")[0].strip().lower()


def response_problems(method, path, r, spec=None):
    """What is wrong with answer @r (a harness Response) to @method @path
    by the document: a list of sentences, empty when it conforms."""
    spec = spec or load()
    path = path.split("?")[0]
    op = operation(spec, method, path)
    if op is None:
        return ["%s %s: no operation in the document" % (method, path)]
    responses = op["responses"]
    decl = responses.get(str(r.status)) or responses.get("default")
    if decl is None:
        return ["%s %s: status %d not declared (declared: %s)"
                % (method, path, r.status, ", ".join(sorted(responses)))]
    decl = resolve(spec, decl)
    where = "%s %s -> %d" % (method, path, r.status)
    problems = []
    headers = {name.lower(): resolve(spec, h)
               for name, h in decl.get("headers", {}).items()}
    for name, h in headers.items():
        value = r.headers.get(name)
        if value is None:
            if h.get("required") and name not in PENDING_HEADERS:
                problems.append("%s: header %s missing" % (where, name))
            continue
        problems += ["%s: header %s %r: %s" % (where, name, value, e)
                     for e in schema_errors(spec, h["schema"], value)]
    for name in SERVICE_HEADERS:
        if name in r.headers and name not in headers:
            problems.append("%s: header %s not declared" % (where, name))
    content = decl.get("content")
    if not content:
        if r.body:
            problems.append("%s: a body, but none declared" % where)
        return problems
    mt = media_type(r.headers.get("content-type", ""))
    if mt not in content:
        return problems + ["%s: media type %r not declared (%s)"
                           % (where, mt, ", ".join(content))]
    if mt != "application/json" or method.upper() == "HEAD":
        return problems     # (HEAD: the headers of GET, no body)
    try:
        body = json.loads(r.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return problems + ["%s: body is not JSON: %s" % (where, e)]
    problems += ["%s: body %s" % (where, e)
                 for e in schema_errors(spec, content[mt]["schema"], body)]
    return problems


def assert_response(method, path, r):
    """The answer conforms to the document; returns its JSON body (None
    when it has none)."""
    problems = response_problems(method, path, r)
    assert not problems, "\n".join(problems) + "\n%r" % (r,)
    return r.json if r.body else None


def request_problems(content_type, fields, method="POST", path="/verify",
                     spec=None):
    """What is wrong with request body @fields (a dict, as sent) by the
    requestBody the document declares for @content_type."""
    spec = spec or load()
    op = operation(spec, method, path)
    body = resolve(spec, op["requestBody"])
    mt = media_type(content_type)
    if mt not in body["content"]:
        return ["media type %s not declared" % mt]
    return schema_errors(spec, body["content"][mt]["schema"], fields)

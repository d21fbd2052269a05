"""The HTTP(S) client side: one request on a fresh connection, the
Response it returns, request bodies as form or JSON, and the fields of a
verification request."""

import http.client
import json
import urllib.parse

from .people import Person


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # lower-case names
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def encode_body(fields, kind):
    """fields: dict or list of (name, value) pairs (duplicates allowed)."""
    if kind == "form":
        pairs = list(fields.items()) if isinstance(fields, dict) else fields
        return (urllib.parse.urlencode(pairs, encoding="utf-8").encode(),
                "application/x-www-form-urlencoded")
    if kind == "json":
        return (json.dumps(fields, ensure_ascii=False).encode("utf-8"),
                "application/json")
    raise ValueError(kind)


def request(port, method="POST", path="/verify", body=None, headers=None,
            source_address=None, context=None, timeout=30, chunked=False):
    """One request on a fresh connection; returns a Response."""
    if context is not None:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=timeout, context=context,
            source_address=source_address)
    else:
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=timeout,
            source_address=source_address)
    try:
        hdrs = {"Connection": "close"}
        hdrs.update(headers or {})
        if chunked:
            conn.putrequest(method, path)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body), 1000):
                part = body[i:i + 1000]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason,
                        {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def fields_for(person_or_id, check="resident", case="CASE-1",
               reason="eligibility check", operator="clerk01", **more):
    pid = person_or_id.id if isinstance(person_or_id, Person) \
        else person_or_id
    f = {"id": pid, "check": check, "case": case, "reason": reason,
         "operator": operator}
    f.update(more)
    return f

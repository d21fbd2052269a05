"""A small load client for the faults-under-load tests (t/test_980,
scripts/soak.sh): threads that POST /verify without pause, some on
keep-alive connections and some on a fresh connection per request, and
record every request: when it was sent and answered, on which kind of
connection, the status (or the error) and the request_id of the JSON
answer. The tests compare those ids with the audit lines.

A request on a reused keep-alive connection may meet a connection the
server closed while it was idle (a graceful restart, KeepAliveTimeout):
it is recorded as `closed` (a client would send it again; this one
goes on with the next request, so that each case is sent once and the
audit line of a request cut by a fault is never mistaken for a retry's).
Any other failure is recorded as it is.
"""

import http.client
import json
import threading
import time
import urllib.parse

from .client import fields_for

FRESH, KEEP = "fresh", "keep"


class Result:
    __slots__ = ("t0", "t1", "kind", "status", "error", "request_id",
                 "reused", "will_close", "case")

    def __init__(self, t0, t1, kind, status, error, request_id, reused):
        self.t0, self.t1, self.kind = t0, t1, kind
        self.status, self.error = status, error
        self.request_id, self.reused = request_id, reused
        self.will_close = True
        self.case = None

    def __repr__(self):
        return "<%s %s %s %s>" % (self.kind, self.status, self.error,
                                  self.request_id)


class Load:
    """Load(port, people).start() ... .stop(); then .results.

    @threads workers; a share @fresh of them open a new connection per
    request, the others keep theirs open for up to @per_conn requests.
    """

    def __init__(self, port, people, threads=6, fresh=0.5, per_conn=50,
                 timeout=30):
        self.port = port
        self.people = list(people)
        self.nthreads = threads
        self.fresh = fresh
        self.per_conn = per_conn
        self.timeout = timeout
        self.results = []
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.threads = []

    # -- control -----------------------------------------------------

    def start(self):
        self.running.set()
        self.t_start = time.time()
        nfresh = max(1, round(self.nthreads * self.fresh)) \
            if self.fresh else 0
        for i in range(self.nthreads):
            kind = FRESH if i < nfresh else KEEP
            t = threading.Thread(target=self._worker, args=(i, kind),
                                 daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.running.clear()
        for t in self.threads:
            t.join(self.timeout + 10)
        self.t_stop = time.time()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the workers -------------------------------------------------

    def _body(self, wid, n):
        """(the case, which the audit line keeps, and the form body)"""
        person = self.people[(wid * 7919 + n) % len(self.people)]
        case = "LOAD-%d-%d" % (wid, n)
        f = fields_for(person, case=case)
        return case, urllib.parse.urlencode(f).encode()

    def _conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=self.timeout)

    def _worker(self, wid, kind):
        conn, used, n = None, 0, 0
        while self.running.is_set():
            n += 1
            case, body = self._body(wid, n)
            if kind == FRESH or conn is None or used >= self.per_conn:
                if conn is not None:
                    conn.close()
                conn, used = self._conn(), 0
            res = self._one(conn, kind, body, used > 0)
            used += 1
            self._record(res, case)
            if kind == FRESH or res.error or res.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _one(self, conn, kind, body, reused):
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        if kind == FRESH:
            hdrs["Connection"] = "close"
        t0 = time.time()
        sent = False
        try:
            conn.request("POST", "/verify", body=body, headers=hdrs)
            sent = True
            r = conn.getresponse()
            data = r.read()
            will_close = r.will_close
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
            # nothing at all came back on a reused connection: closed by
            # the server while idle (RemoteDisconnected, a reset or a
            # broken pipe before any byte of an answer)
            if reused and isinstance(e, (http.client.RemoteDisconnected,
                                         ConnectionResetError,
                                         BrokenPipeError)):
                err = "closed"
            elif not sent:
                err = "send:" + err
            res = Result(t0, time.time(), kind, None, err, None, reused)
            res.will_close = True
            return res
        rid = None
        try:
            rid = json.loads(data.decode("utf-8")).get("request_id")
        except (UnicodeDecodeError, ValueError, AttributeError):
            pass
        res = Result(t0, time.time(), kind, r.status, None, rid, reused)
        res.will_close = will_close
        return res

    def _record(self, res, case):
        res.case = case
        with self.lock:
            self.results.append(res)

    # -- what happened -----------------------------------------------

    def answered(self, status=200):
        """request ids of the answers with @status."""
        return [r.request_id for r in self.results if r.status == status]

    def by_case(self):
        """case -> the Result of the request sent with it."""
        return {r.case: r for r in self.results}

    def failed(self, kind=None):
        """Requests without an answer (other than `closed`), of @kind."""
        return [r for r in self.results if r.status is None
                and r.error != "closed" and (kind is None or r.kind == kind)]

    def figures(self):
        """A dict of figures: counts by status and error, req/s, p50/p99
        latency (ms) of the answered requests."""
        out = {"requests": len(self.results)}
        secs = max(self.t_stop - self.t_start, 1e-6)
        by = {}
        for r in self.results:
            key = str(r.status) if r.status is not None else r.error
            by[key] = by.get(key, 0) + 1
        out["by_status"] = dict(sorted(by.items()))
        ok = sorted(r.t1 - r.t0 for r in self.results if r.status)
        out["req_s"] = round(len(ok) / secs, 1)
        if ok:
            out["p50_ms"] = round(1000 * ok[len(ok) // 2], 1)
            out["p99_ms"] = round(1000 * ok[min(len(ok) - 1,
                                                int(len(ok) * 0.99))], 1)
        out["failed_fresh"] = len(self.failed(FRESH))
        out["failed_keepalive"] = len(self.failed(KEEP))
        out["seconds"] = round(secs, 1)
        return out


"""A fake BigQuery REST API for the real ``google.cloud.bigquery.Client``.

Answers the calls the client makes to run a query and read its rows:
``jobs.insert`` (POST .../jobs), ``jobs.query`` (POST .../queries),
``jobs.get``, ``jobs.getQueryResults`` (GET .../queries/<job>) and
``tabledata.list`` (GET .../tables/<t>/data, on the job's destination table),
in the REST encoding: each row ``{"f": [{"v": ...}]}``, records nested the
same way, repeated fields as lists of ``{"v": ...}``, every scalar a string,
timestamps as microseconds when the client asks for int64 timestamps. Pages
hold at most ``page_rows`` rows, with a ``pageToken`` for the rest.

The query itself is answered by ``answer(sql, params)`` → (schema, rows), a
function of the test; ``params`` are the named parameters the client sent,
decoded (STRING → str, TIMESTAMP → datetime, DATE → date).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from typing import Any

from cloud_fakes import Request, Response

Answer = Callable[[str, dict[str, Any]], tuple[list[dict], list[dict]]]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def field(name: str, type_: str, mode: str = "NULLABLE", fields: list | None = None) -> dict:
    out = {"name": name, "type": type_, "mode": mode}
    if fields:
        out["fields"] = fields
    return out


def _scalar(value: Any, spec: dict, int64_timestamps: bool) -> Any:
    if value is None:
        return None
    kind = spec["type"]
    if kind in ("RECORD", "STRUCT"):
        return {
            "f": [
                {"v": encode(value.get(sub["name"]), sub, int64_timestamps)}
                for sub in spec["fields"]
            ]
        }
    if kind == "TIMESTAMP":
        micros = (value - EPOCH) // dt.timedelta(microseconds=1)
        return str(micros) if int64_timestamps else f"{micros / 1e6:.6f}"
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "DATE" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def encode(value: Any, spec: dict, int64_timestamps: bool = True) -> Any:
    if spec.get("mode") == "REPEATED":
        return [{"v": _scalar(item, spec, int64_timestamps)} for item in value or []]
    return _scalar(value, spec, int64_timestamps)


def decode_parameter(parameter: dict) -> Any:
    kind = parameter["parameterType"]["type"]
    value = parameter["parameterValue"]["value"]
    if kind == "TIMESTAMP":
        text = value.replace(" ", "T").replace("Z", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if kind == "DATE":
        return dt.date.fromisoformat(value)
    if kind in ("INT64", "INTEGER"):
        return int(value)
    return value


class FakeBigQuery:
    """The handler of a LocalServer that plays BigQuery."""

    def __init__(self, answer: Answer, page_rows: int = 2) -> None:
        self.answer = answer
        self.page_rows = page_rows
        self.jobs: dict[str, dict] = {}
        self.queries: list[dict] = []  # {"sql", "parameters" (as sent), "params" (decoded)}
        self.fail_with: Response | None = None
        self._ids = itertools.count(1)

    def __call__(self, request: Request) -> Response:
        if self.fail_with is not None:
            return self.fail_with
        path = request.path.removeprefix("/bigquery/v2")
        routes = [
            ("POST", r"/projects/([^/]+)/jobs", self._insert),
            ("GET", r"/projects/([^/]+)/jobs/([^/]+)", self._get),
            ("POST", r"/projects/([^/]+)/queries", self._query),
            ("GET", r"/projects/([^/]+)/queries/([^/]+)", self._results),
            ("GET", r"/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)/data", self._tabledata),
        ]
        for method, pattern, route in routes:
            match = re.fullmatch(pattern, path)
            if request.method == method and match:
                return route(request, *match.groups())
        return Response(404, {"error": {"code": 404, "message": f"no route {path}"}})

    # --- running a query ---------------------------------------------------------

    def _run(self, project: str, job_id: str, sql: str, parameters: list[dict]) -> dict:
        params = {p["name"]: decode_parameter(p) for p in parameters}
        self.queries.append({"sql": sql, "parameters": parameters, "params": params})
        schema, rows = self.answer(sql, params)
        job = {
            "reference": {"projectId": project, "jobId": job_id, "location": "US"},
            "destination": {
                "projectId": project,
                "datasetId": "_anon",
                "tableId": f"anon_{job_id}",
            },
            "schema": schema,
            "rows": rows,
        }
        self.jobs[job_id] = job
        return job

    def _resource(self, job: dict, configuration: dict, state: str = "DONE") -> dict:
        now = str(int(dt.datetime.now(dt.UTC).timestamp() * 1000))
        query = {**configuration.get("query", {}), "destinationTable": job["destination"]}
        return {
            "kind": "bigquery#job",
            "id": f"{job['reference']['projectId']}:US.{job['reference']['jobId']}",
            "jobReference": job["reference"],
            "configuration": {**configuration, "query": query},
            "status": {"state": state},
            "statistics": {
                "creationTime": now,
                "startTime": now,
                "endTime": now,
                "query": {"totalBytesProcessed": "0", "statementType": "SELECT"},
            },
        }

    def _insert(self, request: Request, project: str) -> Response:
        body = request.json()
        job_id = body.get("jobReference", {}).get("jobId") or f"job_{next(self._ids)}"
        query = body["configuration"]["query"]
        job = self._run(project, job_id, query["query"], query.get("queryParameters", []))
        job["configuration"] = body["configuration"]
        # As BigQuery does: the job is still running when inserted; jobs.get sees it done.
        return Response(200, self._resource(job, body["configuration"], state="RUNNING"))

    def _get(self, request: Request, project: str, job_id: str) -> Response:
        job = self.jobs[job_id]
        return Response(200, self._resource(job, job["configuration"]))

    def _query(self, request: Request, project: str) -> Response:
        body = request.json()
        job = self._run(
            project, f"job_{next(self._ids)}", body["query"], body.get("queryParameters", [])
        )
        job["configuration"] = {"query": {"query": body["query"]}}
        page = self._page(job, request, body.get("maxResults"))
        return Response(200, {"kind": "bigquery#queryResponse", "jobComplete": True, **page})

    # --- reading rows ------------------------------------------------------------

    def _page(self, job: dict, request: Request, max_results: Any = None) -> dict:
        query = request.query
        wanted = int(
            query.get("maxResults", [max_results if max_results is not None else 10**9])[0]
        )
        start = int(query.get("pageToken", query.get("startIndex", ["0"]))[0])
        # The client asks for int64 timestamps (query string, or jobs.query's body);
        # float seconds only when it says false.
        int64 = query.get("formatOptions.useInt64Timestamp", ["true"])[0].lower() == "true"
        schema = {"fields": job["schema"]}
        page: dict = {
            "jobReference": job["reference"],
            "schema": schema,
            "totalRows": str(len(job["rows"])),
        }
        if wanted == 0:
            return page
        size = min(wanted, self.page_rows)
        chosen = job["rows"][start : start + size]
        page["rows"] = [
            {"f": [{"v": encode(row.get(spec["name"]), spec, int64)} for spec in job["schema"]]}
            for row in chosen
        ]
        if start + size < len(job["rows"]):
            page["pageToken"] = str(start + size)
        return page

    def _results(self, request: Request, project: str, job_id: str) -> Response:
        page = self._page(self.jobs[job_id], request)
        return Response(
            200, {"kind": "bigquery#getQueryResultsResponse", "jobComplete": True, **page}
        )

    def _tabledata(self, request: Request, project: str, dataset: str, table: str) -> Response:
        job = next(j for j in self.jobs.values() if j["destination"]["tableId"] == table)
        page = self._page(job, request)
        page.pop("schema")
        page.pop("jobReference")
        return Response(200, {"kind": "bigquery#tableDataList", **page})

"""Azure Carbon Optimization API through its REST contract, served on 127.0.0.1.

The fake answers ``queryCarbonEmissionDataAvailableDateRange`` and
``carbonEmissionReports`` (api-version 2025-04-01) with items in the
documented shapes, pages them with ``skipToken``, and can throttle (429 with
``Retry-After``) or refuse the token (401), as Azure Resource Manager does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
from pathlib import Path

import pytest
from cloud_fakes import Request, Response

from extractors import azure_carbon
from extractors.errors import CredentialsError, SourceUnavailable
from extractors.org_config import load_config

MONTH = "2025-01"
SUBSCRIPTION = "00000000-0000-0000-0000-00000000000a"
FAKE_TOKEN = "eyJfake-azure-access-token-0123456789"


def item(name: str, kg: float) -> dict:
    return {
        "dataType": "ResourceItemDetailsData",
        "latestMonthEmissions": kg,
        "previousMonthEmissions": kg / 2,
        "monthOverMonthEmissionsChangeRatio": 1.0,
        "monthlyEmissionsChangeValue": kg / 2,
        "itemName": name,
        "categoryType": "Resource",
        "subscriptionId": SUBSCRIPTION,
        "resourceGroup": "ml",
        "resourceId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml/providers/microsoft.compute/virtualmachines/{name}",
        "resourceType": "microsoft.compute/virtualmachines",
        "location": "west europe",
    }


class FakeCarbonApi:
    """Azure Resource Manager's Microsoft.Carbon endpoints, as documented."""

    def __init__(self, items: dict[str, list[dict]], page_size: int = 2) -> None:
        self.items = items
        self.page_size = page_size
        self.window = ("2024-02-01", "2025-01-01")
        self.throttle: dict[str, int] = {}  # scope -> number of 429s still to answer
        self.retry_after = "7"
        self.refuse: Response | None = None
        self.denied = False
        self.bodies: list[dict] = []

    def __call__(self, request: Request) -> Response:
        if request.query.get("api-version") != ["2025-04-01"]:
            return Response(400, {"error": {"code": "InvalidApiVersion", "message": "bad"}})
        if self.refuse is not None:
            return self.refuse
        if request.path == "/providers/Microsoft.Carbon/queryCarbonEmissionDataAvailableDateRange":
            return Response(200, {"startDate": self.window[0], "endDate": self.window[1]})
        if request.path != "/providers/Microsoft.Carbon/carbonEmissionReports":
            return Response(404, {"error": {"code": "NotFound", "message": request.path}})
        body = request.json()
        self.bodies.append(body)
        [scope] = body["carbonScopeList"]
        if self.throttle.get(scope, 0):
            self.throttle[scope] -= 1
            return Response(
                429,
                {"error": {"code": "TooManyRequests", "message": "Rate limit exceeded."}},
                {"Retry-After": self.retry_after},
            )
        if body["reportType"] == "MonthlySummaryReport":
            total = sum(i["latestMonthEmissions"] for i in self.items[scope])
            value = [
                {
                    "dataType": "MonthlySummaryData",
                    "latestMonthEmissions": total,
                    "previousMonthEmissions": total / 2,
                    "monthOverMonthEmissionsChangeRatio": 1.0,
                    "monthlyEmissionsChangeValue": total / 2,
                    "date": body["dateRange"]["start"],
                    "carbonIntensity": 22.0,
                }
            ]
            return Response(200, {"value": value})
        start = int(body.get("skipToken") or 0)
        page = {
            "subscriptionAccessDecisionList": [
                {
                    "subscriptionId": SUBSCRIPTION,
                    "decision": "Denied" if self.denied else "Allowed",
                    **(
                        {"denialReason": "Carbon Optimization Reader permission required"}
                        if self.denied
                        else {}
                    ),
                }
            ],
            "value": self.items[scope][start : start + self.page_size],
        }
        if start + self.page_size < len(self.items[scope]):
            page["skipToken"] = str(start + self.page_size)
        return Response(200, page)


@pytest.fixture
def azure(http_server, monkeypatch, config_doc, write_config):
    """Start the fake API with ``items`` per scope; returns (fake, server, config)."""
    monkeypatch.setenv("AZURE_CARBON_ACCESS_TOKEN", FAKE_TOKEN)

    def start(items: dict[str, list[dict]], **section):
        fake = FakeCarbonApi(items)
        server = http_server(fake)
        config_doc["sources"]["azure_carbon"] = {
            "subscriptions": [SUBSCRIPTION],
            "base_url": server.url,
            "max_attempts": 3,
            **section,
        }
        return fake, server, load_config(write_config(config_doc, "azure.yml"))

    return start


ITEMS = {
    "Scope1": [item("vm-a", 0.5)],
    "Scope2": [item("vm-a", 10.0), item("vm-b", 20.0), item("vm-c", 30.0)],
    "Scope3": [item("vm-a", 1.0), item("vm-b", 2.0)],
}


def test_one_request_per_scope_paged_with_a_429_honoured(
    azure, no_sleep, settings, landed, sources
):
    # GIVEN three scopes, Scope2 in two pages and throttled once (Retry-After: 7)
    fake, server, config = azure(ITEMS)
    fake.throttle["Scope2"] = 1
    # WHEN January is extracted
    [record] = azure_carbon.extract(MONTH, settings, config)
    # THEN the wait asked for was honoured, once
    assert no_sleep == [7.0]
    # AND each request asked for one scope and one month, item details paged by skipToken
    assert [b["carbonScopeList"] for b in fake.bodies] == [
        ["Scope1"],
        ["Scope2"],
        ["Scope2"],
        ["Scope2"],
        ["Scope3"],
    ]
    assert {json.dumps(b["dateRange"]) for b in fake.bodies} == {
        '{"start": "2025-01-01", "end": "2025-01-01"}'
    }
    assert [b.get("skipToken") for b in fake.bodies] == [None, None, None, "2", None]
    assert fake.bodies[0]["reportType"] == "ItemDetailsReport"
    assert fake.bodies[0]["categoryType"] == "Resource" and fake.bodies[0]["pageSize"] == 5000
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {FAKE_TOKEN}"}
    # AND every item lands with the scope it was asked for, in kgCO2e as delivered
    table = landed.table("azure_carbon", "emissions")
    assert (record.status, record.rows) == ("loaded", 6)
    by_scope: dict[str, float] = {}
    for scope, kg in zip(
        table["carbon_scope"].to_pylist(), table["latestMonthEmissions"].to_pylist(), strict=True
    ):
        by_scope[scope] = by_scope.get(scope, 0) + kg
    assert by_scope == {"Scope1": 0.5, "Scope2": 60.0, "Scope3": 3.0}
    assert set(table["usage_month"].to_pylist()) == {dt.date(2025, 1, 1)}
    assert (
        "azure/carbon_optimization/ItemDetailsReport/month=2025-01/Scope2.json"
        in table["_source_file"].to_pylist()
    )
    assert (
        sources / "azure/carbon_optimization/ItemDetailsReport/month=2025-01/Scope3.json"
    ).is_file()
    # AND a rerun that gets the same answer records "unchanged"
    [again] = azure_carbon.extract(MONTH, settings, config)
    assert again.status == "unchanged"


def test_throttled_forever_fails_clearly_after_bounded_retries(
    azure, no_sleep, settings, landed, ledger, sources
):
    # GIVEN a month landed before
    fake, server, config = azure(ITEMS)
    azure_carbon.extract(MONTH, settings, config)
    before = landed.path("azure_carbon", "emissions").read_bytes()
    snapshot = (
        sources / "azure/carbon_optimization/ItemDetailsReport/month=2025-01/Scope1.json"
    ).read_bytes()
    # WHEN Scope3 answers 429 to every try
    fake.throttle["Scope3"] = 10**6
    fake.retry_after = "2"
    requests_before = len(server.requests)
    with pytest.raises(SourceUnavailable) as error:
        azure_carbon.extract(MONTH, settings, config)
    # THEN three tries, two waits of the asked length, then a clear, retryable failure
    scope3 = [b for b in fake.bodies[-3:] if b["carbonScopeList"] == ["Scope3"]]
    assert len(scope3) == 3 and no_sleep == [2.0, 2.0]
    assert (
        len(server.requests) - requests_before == 1 + 1 + 2 + 3
    )  # range, Scope1, Scope2 x2, Scope3 x3
    assert "failed 3 times" in str(error.value) and "429" in str(error.value)
    # AND nothing was written: not the partition, not the ledger, not the held pages
    assert landed.path("azure_carbon", "emissions").read_bytes() == before
    assert len(ledger()) == 1
    assert (
        sources / "azure/carbon_optimization/ItemDetailsReport/month=2025-01/Scope1.json"
    ).read_bytes() == snapshot


def test_expired_token_fails_clearly_and_never_shows_the_token(azure, settings, landing, caplog):
    fake, _, config = azure(ITEMS)
    fake.refuse = Response(
        401,
        {
            "error": {
                "code": "ExpiredAuthenticationToken",
                "message": "The access token expiry UTC time '1/1/2025 10:00:00 AM' is earlier than current UTC time.",
            }
        },
        {
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.example/", error="invalid_token"'
        },
    )
    caplog.set_level(logging.DEBUG, logger="extractors")
    with pytest.raises(CredentialsError) as error:
        azure_carbon.extract(MONTH, settings, config)
    assert "ExpiredAuthenticationToken" in str(error.value)
    shown = "".join(traceback.format_exception(error.value)) + repr(error.value) + caplog.text
    assert FAKE_TOKEN not in shown
    assert not landing.exists()


def test_missing_token_is_named(azure, monkeypatch, settings):
    _, server, config = azure(ITEMS)
    monkeypatch.delenv("AZURE_CARBON_ACCESS_TOKEN")
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # as if not installed
    with pytest.raises(CredentialsError, match="AZURE_CARBON_ACCESS_TOKEN"):
        azure_carbon.extract(MONTH, settings, config)
    assert server.requests == []


def test_month_outside_the_12_month_window_is_not_requested(azure, settings, landing):
    fake, server, config = azure(ITEMS)
    assert azure_carbon.extract("2023-06", settings, config) == []
    assert fake.bodies == [] and len(server.requests) == 1
    assert not landing.exists()


def test_monthly_summary_report_has_the_split_by_scope(azure, settings, landed):
    fake, _, config = azure(ITEMS, report_type="MonthlySummaryReport", scopes=["Scope2", "Scope3"])
    [record] = azure_carbon.extract(MONTH, settings, config)
    assert "categoryType" not in fake.bodies[0] and "pageSize" not in fake.bodies[0]
    table = landed.table("azure_carbon", "emissions")
    assert record.rows == 2
    assert table["carbon_scope"].to_pylist() == ["Scope2", "Scope3"]
    assert table["latestMonthEmissions"].to_pylist() == [60.0, 3.0]
    assert table["carbonIntensity"].to_pylist() == [22.0, 22.0]
    assert table["report_type"].to_pylist() == ["MonthlySummaryReport"] * 2


def test_denied_subscription_is_named(azure, settings, landing):
    fake, _, config = azure(ITEMS)
    fake.denied = True
    with pytest.raises(CredentialsError, match=f"denied subscription {SUBSCRIPTION}"):
        azure_carbon.extract(MONTH, settings, config)
    assert not landing.exists()


def test_empty_month_is_not_delivered_and_keeps_the_earlier_partition(azure, settings, landed):
    fake, _, config = azure(ITEMS)
    azure_carbon.extract(MONTH, settings, config)
    before = landed.path("azure_carbon", "emissions").read_bytes()
    # WHEN the API answers no items for any scope
    fake.items = {scope: [] for scope in ITEMS}
    [record] = azure_carbon.extract(MONTH, settings, config)
    # THEN the held pages land unchanged
    assert record.status == "unchanged"
    assert landed.path("azure_carbon", "emissions").read_bytes() == before


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]

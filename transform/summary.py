"""Print what a user wants to see first after a run, from the published warehouse.

Opens the warehouse read-only; never writes. Used by ``make demo``.
"""

from __future__ import annotations

import argparse
import sys

from transform.build import published_path


def _table(rows: list[tuple], headers: list[str]) -> str:
    cells = [
        [("" if v is None else f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in r]
        for r in rows
    ]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if i and all(ch in "0123456789,.-%" for ch in v) else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--year", type=int, required=True)
    args = parser.parse_args(argv)
    path = published_path()
    if not path.exists():
        print(f"no published warehouse at {path}: run `make demo` first", file=sys.stderr)
        return 2
    con = duckdb.connect(str(path), read_only=True)
    year = args.year

    print(f"\nAI carbon warehouse: {path}\n")
    print("AI system inventory (reporting.inventory)")
    print(
        _table(
            con.execute(
                "select system_id, kind, owner, runs_on, first_seen, last_seen, status "
                "from reporting.inventory order by system_id = 'unattributed', system_id"
            ).fetchall(),
            ["system", "kind", "owner", "runs on", "first seen", "last seen", "status"],
        )
    )

    print(f"\nEmissions {year} by category and scope, tCO2e (GHG inventory basis)")
    print(
        _table(
            con.execute(
                """
        select emission_category,
               case when ghg_scope = 3 then 'Scope 3 cat ' || scope3_category
                    else 'Scope ' || ghg_scope end as scope,
               sum(energy_kwh) filter (where method = 'location') / 1000 as energy_mwh,
               sum(kg_co2e) filter (where method = 'location') / 1000 as location_based_t,
               sum(kg_co2e) filter (where method = 'market') / 1000 as market_based_t
        from main.fct_emissions
        where year(month) = ? and accounting_basis in ('activity', 'acquisition')
        group by all order by 1, 2
        """,
                [year],
            ).fetchall(),
            ["category", "scope", "MWh", "location tCO2e", "market tCO2e"],
        )
    )

    print(f"\nDisclosure {year} (reporting.annual_disclosure)")
    print(
        _table(
            con.execute(
                "select ghg_scope, scope3_category, location_based_tco2e, market_based_tco2e "
                "from reporting.annual_disclosure where year = ? order by 1, 2",
                [year],
            ).fetchall(),
            ["scope", "scope 3 cat", "location tCO2e", "market tCO2e"],
        )
    )

    print(f"\nTop systems {year}, tCO2e")
    print(
        _table(
            con.execute(
                """
        select system_id,
               sum(kg_co2e) filter (where method = 'location') / 1000 as location_t,
               sum(kg_co2e) filter (where method = 'market') / 1000 as market_t,
               100 * sum(kg_co2e) filter (where method = 'location')
                   / sum(sum(kg_co2e) filter (where method = 'location')) over () as share_pct
        from main.fct_emissions
        where year(month) = ? and accounting_basis in ('activity', 'acquisition')
        group by all order by location_t desc
        """,
                [year],
            ).fetchall(),
            ["system", "location tCO2e", "market tCO2e", "share %"],
        )
    )

    print(f"\nHow the figures were obtained {year} (share of location-based tCO2e by tier)")
    print(
        _table(
            con.execute(
                """
        select tier, 100 * sum(kg_co2e) / sum(sum(kg_co2e)) over () as share_pct
        from main.fct_emissions
        where year(month) = ? and method = 'location'
          and accounting_basis in ('activity', 'acquisition')
        group by all order by share_pct desc
        """,
                [year],
            ).fetchall(),
            ["tier", "share %"],
        )
    )

    print("\nMaturity (reporting.maturity, levels 1-5)")
    print(
        _table(
            con.execute(
                """
        select coalesce(system_id, 'the organisation'), 'L' || maturity_level, next_step
        from reporting.maturity
        order by row_order, system_id
        """
            ).fetchall(),
            ["who", "level", "what the next level needs"],
        )
    )

    print(f"\nInference intensity {year}, gCO2e per 1,000 requests (idle included)")
    print(
        _table(
            con.execute(
                """
        select system_id,
               sum(requests),
               sum(g_co2e_per_1k_requests * requests) / nullif(sum(requests), 0),
               sum(market_g_co2e_per_1k_requests * requests) / nullif(sum(requests), 0)
        from reporting.inference_intensity
        where year(month) = ?
        group by system_id having sum(requests) > 0 order by system_id
        """,
                [year],
            ).fetchall(),
            ["system", "requests", "location g / 1k", "market g / 1k"],
        )
    )
    con.close()

    print("\nQuery it yourself (read-only; safe while the nightly run builds):")
    print("  make sql")
    print(
        "  .venv/bin/python -m transform.sql "
        f'"select * from reporting.annual_disclosure where year = {year}"'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

{#-
    The files of a frozen disclosure version (transform/disclosure.py writes
    them under AI_CARBON_DISCLOSURES/<year>/v<N>/), column by column, in the
    shape of landing_contract(): (name, DuckDB type[, 'optional']). Staging
    reads them through landing_source(..., contract=disclosure_contract()), so
    a warehouse with no frozen version yet builds on a typed empty relation.

    The keys and the figures are required. Every other column is optional: a
    version frozen before a column was added to the view or the fact still
    reads, with null in that column.
-#}
{% macro disclosure_contract() %}
    {{ return(adapter.dispatch('disclosure_contract', 'ai_carbon')()) }}
{% endmacro %}
{% macro bigquery__disclosure_contract() %}
    {{ return(bigquery_contract(default__disclosure_contract())) }}
{% endmacro %}
{% macro default__disclosure_contract() %}
    {{ return({
        'disclosures.annual_disclosure': [
            ('year', 'integer'),
            ('disclosure_version', 'integer'),
            ('frozen_at', 'timestamp'),
            ('ghg_scope', 'integer'),
            ('scope3_category', 'integer'),
            ('location_based_tco2e', 'double'),
            ('market_based_tco2e', 'double'),
            ('ai_attributed_location_based_tco2e', 'double', 'optional'),
            ('ai_attributed_market_based_tco2e', 'double', 'optional'),
            ('factor_sets', 'varchar', 'optional'),
            ('methodology_version', 'varchar', 'optional'),
            ('data_as_of', 'timestamp', 'optional'),
        ],
        'disclosures.emissions': [
            ('reporting_year', 'integer'),
            ('disclosure_version', 'integer'),
            ('month', 'date'),
            ('system_id', 'varchar'),
            ('emission_category', 'varchar'),
            ('activity', 'varchar'),
            ('ghg_scope', 'integer'),
            ('scope3_category', 'integer'),
            ('method', 'varchar'),
            ('tier', 'varchar'),
            ('accounting_basis', 'varchar'),
            ('source', 'varchar'),
            ('provider', 'varchar'),
            ('region_code', 'varchar', 'optional'),
            ('site_id', 'varchar', 'optional'),
            ('energy_kwh', 'double'),
            ('kg_co2e', 'double'),
            ('cost', 'double', 'optional'),
            ('factor_set', 'varchar', 'optional'),
            ('factor_year', 'integer', 'optional'),
            ('methodology_version', 'varchar', 'optional'),
        ],
    }) }}
{% endmacro %}


{#- True when two figures differ by more than float noise: 1e-6 of their unit
    (1 g of tCO2e, 1 mg of kgCO2e) or one part in a billion of the larger,
    whichever is more. Nulls count as 0. transform/disclosure.py compares a
    new freeze with the last version by the same rule. -#}
{% macro figures_differ(left, right) -%}
    (
        abs(coalesce({{ left }}, 0) - coalesce({{ right }}, 0))
        > greatest(0.000001, 0.000000001 * greatest(abs(coalesce({{ left }}, 0)), abs(coalesce({{ right }}, 0))))
    )
{%- endmacro %}

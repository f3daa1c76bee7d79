{#- Carbon-accounting rules that several models share (docs/methodology.md). -#}

{#- An emissions value in kgCO2e, whatever unit the provider printed beside it.
    Unknown units give null, which the not_null tests on kg columns catch. -#}
{% macro to_kg_co2e(value_column, unit_column) -%}
    {{ value_column }} * case upper(trim({{ unit_column }}))
        when 'MTCO2E' then 1000.0
        when 'TCO2E' then 1000.0
        when 'KGCO2E' then 1.0
    end
{%- endmacro %}


{#- methodology.md section 5: the AI emission category of a row. GPU energy,
    busy (`gpu`) or idle (`gpu_idle`: warm-pool serving capacity, a cluster's
    metered idle draw), belongs to the kind of its system. -#}
{% macro emission_category(system_id, system_kind, activity) -%}
    case
        when {{ activity }} = 'embodied' then 'embodied'
        when {{ system_id }} = 'unattributed' then 'unattributed'
        when {{ activity }} in ('gpu', 'gpu_idle') and {{ system_kind }} = 'production_inference' then 'inference'
        when {{ activity }} in ('gpu', 'gpu_idle') then 'training'
        else 'data_infrastructure'
    end
{%- endmacro %}


{#- GHG Protocol scope of a row: own electricity is Scope 2; cloud services are
    Scope 3 category 1; manufacturing of owned hardware is Scope 3 category 2. -#}
{% macro ghg_scope(provider, activity) -%}
    case
        when {{ activity }} = 'embodied' then 3
        when {{ provider }} = 'on_prem' then 2
        else 3
    end
{%- endmacro %}

{% macro scope3_category(provider, activity) -%}
    case
        when {{ activity }} = 'embodied' then 2
        when {{ provider }} = 'on_prem' then null
        else 1
    end
{%- endmacro %}


{#- Order of preference among factors published for different years (section
    4): the latest year not after the activity's year; only when there is none,
    the earliest later year (visible through factor_year). `preferences` are
    extra sort keys that rank between those two rules (e.g. the configured
    factor set before `default`). -#}
{% macro factor_year_preference(factor_year, activity_year, preferences=[]) -%}
    case when {{ factor_year }} <= {{ activity_year }} then 0 else 1 end,
    {%- for preference in preferences %}
    {{ preference }},
    {%- endfor %}
    case when {{ factor_year }} <= {{ activity_year }} then -{{ factor_year }} else {{ factor_year }} end
{%- endmacro %}


{#- Power per GPU, W (methodology.md section 2): the configured draw when set,
    else the power model idle + u x (max - idle). -#}
{% macro gpu_power_w(configured_w, utilisation, idle_w, max_w) -%}
    coalesce({{ configured_w }}, {{ idle_w }} + {{ utilisation }} * ({{ max_w }} - {{ idle_w }}))
{%- endmacro %}

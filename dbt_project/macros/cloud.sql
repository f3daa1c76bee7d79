{#- Cloud names and keys that several models share: provider and region
    spellings (docs/methodology.md section 2), how a billing row finds its
    instance type in FOCUS text, and which provider cell a billing row
    belongs to (section 4). -#}

{#- One code per cloud provider, whatever a bill or an export calls it: FOCUS
    ProviderName (`AWS`, `Microsoft`, `Oracle`, `Google Cloud`, ...) and the
    codes used elsewhere (aws, gcp, azure, oci). Unknown names become a code of
    their own (lower case, `_` for anything else), which the cloud_regions seed
    then has to know before their energy can be placed on a grid. -#}
{% macro cloud_provider_code(name_expression) -%}
    case
        when lower(trim({{ name_expression }})) = 'aws' or lower(trim({{ name_expression }})) like 'amazon%' then 'aws'
        when lower(trim({{ name_expression }})) = 'gcp' or lower(trim({{ name_expression }})) like 'google%' then 'gcp'
        when lower(trim({{ name_expression }})) like 'microsoft%' or lower(trim({{ name_expression }})) like '%azure%'
            then 'azure'
        when lower(trim({{ name_expression }})) = 'oci' or lower(trim({{ name_expression }})) like 'oracle%' then 'oci'
        else {{ regex_replace_all('lower(trim(' ~ name_expression ~ '))', '[^a-z0-9]+', '_') }}
    end
{%- endmacro %}


{#- A region as the cloud_regions seed spells it, or null when the row has none:
    lower case; Azure's display names (`West Europe`, `East US 2`) and API
    spellings (`west europe`) lose their spaces, as in its region codes
    (`westeurope`, `eastus2`). AWS, GCP and OCI codes keep their hyphens. -#}
{% macro cloud_region_code(provider_expression, region_expression) -%}
    case
        when nullif(trim({{ region_expression }}), '') is null then null
        when {{ provider_expression }} = 'azure'
            then lower({{ regex_replace_all(region_expression, '[^A-Za-z0-9]', '') }})
        else lower(trim({{ region_expression }}))
    end
{%- endmacro %}


{#- A regular expression that finds an instance type of the instance_types seed
    in a FOCUS row's text (SKU meter, charge description, SKU details), as a
    whole word: `c5.large` in "per On Demand Linux c5.large Instance Hour" but
    not in `db.c5.large` or `c5.large2`. An Azure size also matches its meter
    name, which drops `Standard_` and may name the accelerator:
    `Standard_ND96asr_v4` is "ND96asr A100 v4" or "ND96asr v4". Names hold
    letters, digits, `.`, `-` and `_` only; `.` is escaped. -#}
{% macro instance_type_pattern(provider_expression, instance_type_expression) -%}
    '(?i)(^|[^a-z0-9._])('
    || replace({{ instance_type_expression }}, '.', '\.')
    || case
        when {{ provider_expression }} = 'azure' and {{ like_escaped(instance_type_expression, pattern='Standard\_%\_%') }}
            then '|' || split_part({{ instance_type_expression }}, '_', 2) || '( [a-z0-9]+)? '
            || split_part({{ instance_type_expression }}, '_', -1)
        else ''
    end
    || ')($|[^a-z0-9._])'
{%- endmacro %}


{#- Does a cloud row (alias `rows`) fall in a provider cell (alias `cells`)?
    Same provider, billing account, account and month; the same service and
    region, unless the cell covers all of them (`*`: Azure reports without a
    service or region dimension - see int_provider_emissions_unioned). A
    row falls in at most one cell of a month: a provider's cells of one
    billing account and month come from one delivery. -#}
{% macro provider_cell_matches(rows, cells) -%}
    {{ rows }}.provider = {{ cells }}.provider
    and {{ rows }}.billing_account_id = {{ cells }}.billing_account_id
    and {{ rows }}.account_id is not distinct from {{ cells }}.account_id
    and ({{ cells }}.service_code = '*' or {{ rows }}.service_code is not distinct from {{ cells }}.service_code)
    and ({{ cells }}.region_code = '*' or {{ rows }}.region_code = {{ cells }}.region_code)
    and {{ rows }}.month = {{ cells }}.month
{%- endmacro %}

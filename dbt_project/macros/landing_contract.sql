{#-
    The landing datasets of docs/data-contract.md, column by column, with the
    type each lands as. One home for the contract on the dbt side: the typed
    empty relation a staging model falls back to when a dataset has no files
    yet, and the null columns of optional fields, are both built from it.

    Each column is (name, DuckDB type[, 'optional']). An optional column may be
    absent from every file (e.g. the AWS per-scope columns of older
    deliveries); a required one missing from the files is a build error that
    names the dataset and the column.

    `month` / `snapshot` are the Hive partition keys, `file_row_number` the row's
    position in its landed file (DuckDB's read_parquet option), both added by
    the source's external_location.

    The types are written once, as DuckDB spells them (the default
    implementation); other adapters translate them (bigquery__landing_contract).
-#}
{% macro landing_contract() %}
    {{ return(adapter.dispatch('landing_contract', 'ai_carbon')()) }}
{% endmacro %}


{#- The same contract with BigQuery's type names (bigquery_type). -#}
{% macro bigquery__landing_contract() %}
    {{ return(bigquery_contract(default__landing_contract())) }}
{% endmacro %}


{% macro default__landing_contract() %}
    {%- set key_values = 'struct("key" varchar, "value" varchar)[]' -%}
    {%- set partitioned = [('month', 'varchar'), ('file_row_number', 'bigint')] -%}
    {%- set org = [('snapshot', 'varchar'), ('file_row_number', 'bigint')] -%}
    {%- set aws_scope_columns = [] -%}
    {%- for scope in ['scope_1', 'scope_2_lbm', 'scope_2_mbm', 'scope_3_lbm', 'scope_3_mbm'] -%}
        {%- do aws_scope_columns.append(('total_' ~ scope ~ '_emissions_value', 'double', 'optional')) -%}
        {%- do aws_scope_columns.append(('total_' ~ scope ~ '_emissions_unit', 'varchar', 'optional')) -%}
    {%- endfor -%}
    {#- FOCUS 1.0-1.3 as focus_files.py lands it (the same for aws_focus); the
        optional ones are extensions kept as delivered where a provider writes
        them (AWS x_ServiceCode / x_Operation, Azure x_SkuDetails, FOCUS 1.1+
        SkuPriceDetails), read for service codes and instance types. -#}
    {%- set focus_columns = [
        ('BillingPeriodStart', 'timestamptz'),
        ('BillingPeriodEnd', 'timestamptz'),
        ('ChargePeriodStart', 'timestamptz'),
        ('ChargePeriodEnd', 'timestamptz'),
        ('ChargeCategory', 'varchar'),
        ('ProviderName', 'varchar'),
        ('ServiceName', 'varchar'),
        ('BilledCost', 'double'),
        ('EffectiveCost', 'double'),
        ('BillingCurrency', 'varchar'),
        ('ChargeClass', 'varchar'),
        ('ChargeDescription', 'varchar'),
        ('ChargeFrequency', 'varchar'),
        ('ServiceCategory', 'varchar'),
        ('BillingAccountId', 'varchar'),
        ('BillingAccountName', 'varchar'),
        ('SubAccountId', 'varchar'),
        ('SubAccountName', 'varchar'),
        ('RegionId', 'varchar'),
        ('RegionName', 'varchar'),
        ('AvailabilityZone', 'varchar'),
        ('ResourceId', 'varchar'),
        ('ResourceName', 'varchar'),
        ('ResourceType', 'varchar'),
        ('SkuId', 'varchar'),
        ('SkuPriceId', 'varchar'),
        ('PricingCategory', 'varchar'),
        ('ConsumedQuantity', 'double'),
        ('ConsumedUnit', 'varchar'),
        ('PricingQuantity', 'double'),
        ('PricingUnit', 'varchar'),
        ('ListCost', 'double'),
        ('ListUnitPrice', 'double'),
        ('ContractedCost', 'double'),
        ('ContractedUnitPrice', 'double'),
        ('CommitmentDiscountId', 'varchar'),
        ('CommitmentDiscountType', 'varchar'),
        ('CommitmentDiscountCategory', 'varchar'),
        ('CommitmentDiscountStatus', 'varchar'),
        ('CommitmentDiscountName', 'varchar'),
        ('CommitmentDiscountQuantity', 'double'),
        ('CommitmentDiscountUnit', 'varchar'),
        ('CapacityReservationId', 'varchar'),
        ('CapacityReservationStatus', 'varchar'),
        ('ServiceSubcategory', 'varchar'),
        ('SkuMeter', 'varchar'),
        ('BillingAccountType', 'varchar'),
        ('SubAccountType', 'varchar'),
        ('InvoiceId', 'varchar'),
        ('PricingCurrency', 'varchar'),
        ('PublisherName', 'varchar'),
        ('InvoiceIssuerName', 'varchar'),
        ('Tags', 'map(varchar, varchar)'),
        ('provider_source', 'varchar'),
        ('x_ServiceCode', 'varchar', 'optional'),
        ('x_Operation', 'varchar', 'optional'),
        ('x_SkuDetails', 'varchar', 'optional'),
        ('SkuPriceDetails', 'varchar', 'optional'),
        ('_source_file', 'varchar'),
    ] -%}
    {{ return({
        'aws_cur.line_items': [
            ('bill_billing_period_start_date', 'timestamptz'),
            ('bill_payer_account_id', 'varchar'),
            ('identity_time_interval', 'varchar'),
            ('line_item_usage_start_date', 'timestamptz'),
            ('line_item_usage_end_date', 'timestamptz'),
            ('line_item_usage_account_id', 'varchar'),
            ('line_item_line_item_type', 'varchar'),
            ('line_item_product_code', 'varchar'),
            ('line_item_usage_type', 'varchar'),
            ('line_item_operation', 'varchar'),
            ('line_item_usage_amount', 'double'),
            ('pricing_unit', 'varchar'),
            ('line_item_unblended_cost', 'double'),
            ('line_item_currency_code', 'varchar'),
            ('line_item_resource_id', 'varchar'),
            ('product_instance_type', 'varchar'),
            ('product_region_code', 'varchar'),
            ('resource_tags', 'map(varchar, varchar)'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'aws_carbon.emissions': [
            ('last_refresh_timestamp', 'timestamptz'),
            ('location', 'varchar'),
            ('model_version', 'varchar'),
            ('payer_account_id', 'varchar'),
            ('usage_account_id', 'varchar'),
            ('product_code', 'varchar'),
            ('region_code', 'varchar'),
            ('usage_period_start', 'timestamptz'),
            ('usage_period_end', 'timestamptz'),
            ('total_lbm_emissions_value', 'double'),
            ('total_lbm_emissions_unit', 'varchar'),
            ('total_mbm_emissions_value', 'double'),
            ('total_mbm_emissions_unit', 'varchar'),
        ] + aws_scope_columns + [('_source_file', 'varchar')] + partitioned,
        'gcp_billing.billing_export': [
            ('billing_account_id', 'varchar'),
            ('invoice', 'struct("month" varchar)'),
            ('cost_type', 'varchar'),
            ('service', 'struct(id varchar, description varchar)'),
            ('sku', 'struct(id varchar, description varchar)'),
            ('usage_start_time', 'timestamptz'),
            ('usage_end_time', 'timestamptz'),
            ('project', 'struct(id varchar, number varchar, "name" varchar, labels ' ~ key_values ~ ')'),
            ('labels', key_values),
            ('system_labels', key_values),
            ('location', 'struct("location" varchar, country varchar, region varchar, "zone" varchar)'),
            ('cost', 'double'),
            ('cost_at_list', 'double'),
            ('currency', 'varchar'),
            ('currency_conversion_rate', 'double'),
            ('usage', 'struct(amount double, unit varchar, amount_in_pricing_units double, pricing_unit varchar)'),
            ('credits', 'struct("name" varchar, amount double, full_name varchar, id varchar, "type" varchar)[]'),
            ('export_time', 'timestamptz'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'gcp_carbon.carbon_footprint': [
            ('usage_month', 'date'),
            ('billing_account_id', 'varchar'),
            ('project', 'struct(id varchar, number varchar)'),
            ('service', 'struct(id varchar, description varchar)'),
            ('location', 'struct("location" varchar, region varchar)'),
            ('carbon_model_version', 'bigint'),
            ('carbon_footprint_kgCO2e',
                'struct(scope1 double, scope2 struct(location_based double, market_based double), scope3 double)'),
            ('carbon_footprint_total_kgCO2e', 'struct(location_based double, market_based double)'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'slurm.jobs': [
            ('cluster', 'varchar'),
            ('JobID', 'varchar'),
            ('JobName', 'varchar'),
            ('User', 'varchar'),
            ('Account', 'varchar'),
            ('Partition', 'varchar'),
            ('State', 'varchar'),
            ('Start', 'varchar'),
            ('End', 'varchar'),
            ('ElapsedRaw', 'varchar'),
            ('AllocTRES', 'varchar'),
            ('ConsumedEnergyRaw', 'varchar'),
            ('NodeList', 'varchar'),
            ('_source_file', 'varchar'),
            ('_line_number', 'bigint'),
        ] + partitioned,
        'mlflow.runs': [
            ('run_id', 'varchar'),
            ('experiment_id', 'varchar'),
            ('run_name', 'varchar'),
            ('status', 'varchar'),
            ('start_time', 'bigint'),
            ('end_time', 'bigint'),
            ('lifecycle_stage', 'varchar'),
            ('tags', key_values),
            ('params', key_values),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'inference.requests': [
            ('timestamp', 'timestamptz'),
            ('service', 'varchar'),
            ('requests', 'bigint'),
            ('tokens', 'bigint'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'focus.cost_line_items': focus_columns + partitioned,
        'aws_focus.cost_line_items': focus_columns + partitioned,
        'azure_carbon.emissions': [
            ('usage_month', 'date'),
            ('report_type', 'varchar'),
            ('carbon_scope', 'varchar'),
            ('dataType', 'varchar'),
            ('date', 'date'),
            ('categoryType', 'varchar'),
            ('itemName', 'varchar'),
            ('subscriptionId', 'varchar'),
            ('resourceGroup', 'varchar'),
            ('resourceGroupUrl', 'varchar'),
            ('resourceId', 'varchar'),
            ('resourceType', 'varchar'),
            ('location', 'varchar'),
            ('latestMonthEmissions', 'double'),
            ('previousMonthEmissions', 'double'),
            ('monthOverMonthEmissionsChangeRatio', 'double'),
            ('monthlyEmissionsChangeValue', 'double'),
            ('carbonIntensity', 'double'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'azure_carbon.emissions_export': [
            ('usage_month', 'date'),
            ('dateKey', 'varchar'),
            ('enrollmentId', 'varchar'),
            ('subscriptionId', 'varchar'),
            ('subscriptionName', 'varchar'),
            ('azureServiceName', 'varchar'),
            ('subService', 'varchar'),
            ('azureRegionName', 'varchar'),
            ('scope', 'varchar'),
            ('scopeId', 'bigint'),
            ('totalEmissions', 'double'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'dcgm.gpu_hours': [
            ('hour', 'timestamptz'),
            ('uuid', 'varchar'),
            ('hostname', 'varchar'),
            ('gpu', 'varchar'),
            ('model_name', 'varchar'),
            ('pod', 'varchar'),
            ('namespace', 'varchar'),
            ('container', 'varchar'),
            ('hpc_job', 'varchar'),
            ('energy_mj', 'double'),
            ('seconds_covered', 'double'),
            ('avg_power_w', 'double'),
            ('avg_util_pct', 'double'),
            ('samples', 'bigint'),
            ('step_seconds', 'bigint'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'opencost.allocations': [
            ('window_start', 'timestamptz'),
            ('window_end', 'timestamptz'),
            ('name', 'varchar'),
            ('cluster', 'varchar'),
            ('node', 'varchar'),
            ('namespace', 'varchar'),
            ('pod', 'varchar'),
            ('gpu_count', 'double'),
            ('gpu_hours', 'double'),
            ('gpu_cost', 'double'),
            ('cpu_core_hours', 'double'),
            ('ram_byte_hours', 'double'),
            ('total_cost', 'double'),
            ('labels', key_values),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'nvidia_smi.samples': [
            ('hour', 'timestamptz'),
            ('hostname', 'varchar'),
            ('uuid', 'varchar'),
            ('gpu_name', 'varchar'),
            ('energy_mj', 'double'),
            ('seconds_covered', 'double'),
            ('avg_power_w', 'double'),
            ('avg_util_pct', 'double'),
            ('samples', 'bigint'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'codecarbon.runs': [
            ('timestamp', 'timestamptz'),
            ('project_name', 'varchar'),
            ('run_id', 'varchar'),
            ('experiment_id', 'varchar'),
            ('duration', 'double'),
            ('emissions', 'double'),
            ('emissions_rate', 'double'),
            ('cpu_power', 'double'),
            ('gpu_power', 'double'),
            ('ram_power', 'double'),
            ('cpu_energy', 'double'),
            ('gpu_energy', 'double'),
            ('ram_energy', 'double'),
            ('energy_consumed', 'double'),
            ('country_name', 'varchar'),
            ('country_iso_code', 'varchar'),
            ('region', 'varchar'),
            ('cloud_provider', 'varchar'),
            ('cloud_region', 'varchar'),
            ('os', 'varchar'),
            ('python_version', 'varchar'),
            ('codecarbon_version', 'varchar'),
            ('cpu_count', 'double'),
            ('cpu_model', 'varchar'),
            ('gpu_count', 'double'),
            ('gpu_model', 'varchar'),
            ('longitude', 'double'),
            ('latitude', 'double'),
            ('ram_total_size', 'double'),
            ('tracking_mode', 'varchar'),
            ('on_cloud', 'varchar'),
            ('pue', 'double'),
            ('_source_file', 'varchar'),
        ] + partitioned,
        'org.systems': [
            ('system_id', 'varchar'),
            ('name', 'varchar'),
            ('kind', 'varchar'),
            ('owner', 'varchar'),
            ('description', 'varchar'),
        ] + org,
        'org.attribution_rules': [
            ('rule_order', 'bigint'),
            ('system_id', 'varchar'),
            ('source_type', 'varchar'),
            ('tag_key', 'varchar'),
            ('like_pattern', 'varchar'),
        ] + org,
        'org.sites': [
            ('site_id', 'varchar'),
            ('name', 'varchar'),
            ('grid_zone', 'varchar'),
            ('country', 'varchar'),
        ] + org,
        'org.site_pue': [
            ('site_id', 'varchar'),
            ('valid_from', 'date'),
            ('valid_to', 'date'),
            ('pue', 'double'),
        ] + org,
        'org.clusters': [
            ('cluster', 'varchar'),
            ('site_id', 'varchar'),
            ('gpu_model', 'varchar'),
            ('gpu_power_w', 'double'),
            ('gpu_utilisation', 'double'),
        ] + org,
        'org.cluster_partitions': [
            ('cluster', 'varchar'),
            ('partition', 'varchar'),
            ('gpu_model', 'varchar'),
        ] + org,
        'org.cluster_hosts': [
            ('cluster', 'varchar'),
            ('like_pattern', 'varchar'),
        ] + org,
        'org.cluster_idle_energy': [
            ('cluster', 'varchar'),
            ('valid_from', 'date'),
            ('valid_to', 'date'),
            ('kwh', 'double'),
            ('source', 'varchar'),
            ('metered_at', 'varchar'),
        ] + org,
        'org.instruments': [
            ('instrument_id', 'varchar'),
            ('site_id', 'varchar'),
            ('kind', 'varchar'),
            ('valid_from', 'date'),
            ('valid_to', 'date'),
            ('mwh', 'double'),
            ('kg_co2e_per_kwh', 'double'),
        ] + org,
        'org.hardware': [
            ('hardware_id', 'varchar'),
            ('site_id', 'varchar'),
            ('server_model', 'varchar'),
            ('gpu_model', 'varchar'),
            ('gpus_per_server', 'bigint'),
            ('servers', 'bigint'),
            ('acquired_on', 'date'),
            ('lifetime_years', 'double'),
            ('use_share', 'double'),
        ] + org,
        'org.settings': [
            ('key', 'varchar'),
            ('value', 'varchar'),
        ] + org,
        'org.targets': [
            ('target_id', 'varchar'),
            ('baseline_year', 'bigint'),
            ('target_year', 'bigint'),
            ('reduction_pct', 'double'),
            ('method', 'varchar'),
            ('ghg_scope', 'bigint'),
        ] + org,
        'landing.loads': [
            ('load_id', 'varchar'),
            ('source', 'varchar'),
            ('dataset', 'varchar'),
            ('partition', 'varchar'),
            ('files', 'varchar[]'),
            ('rows', 'bigint'),
            ('checksum', 'varchar'),
            ('landed_file', 'varchar'),
            ('loaded_at', 'timestamptz'),
            ('status', 'varchar'),
        ],
        'landing.quarantine': [
            ('source', 'varchar'),
            ('dataset', 'varchar'),
            ('partition', 'varchar'),
            ('file', 'varchar'),
            ('line_number', 'bigint'),
            ('field', 'varchar'),
            ('reason', 'varchar'),
            ('raw', 'varchar'),
        ] + partitioned,
    }) }}
{% endmacro %}


{#- `contract` (dataset -> [(name, DuckDB type[, 'optional'])]) with each type
    as BigQuery spells it. -#}
{% macro bigquery_contract(contract) %}
    {%- set translated = {} -%}
    {%- for dataset, columns in contract.items() -%}
        {%- set typed = [] -%}
        {%- for column in columns -%}
            {%- do typed.append((column[0], bigquery_type(column[1])) + column[2:]) -%}
        {%- endfor -%}
        {%- do translated.update({dataset: typed}) -%}
    {%- endfor -%}
    {{ return(translated) }}
{% endmacro %}


{#- A DuckDB type of the contracts as BigQuery spells it: `varchar` STRING,
    `double` FLOAT64, `bigint` / `integer` INT64, `timestamptz` / `timestamp`
    TIMESTAMP (an instant, as landed: UTC), `struct(a t)` STRUCT<a t>, `t[]`
    ARRAY<t>, and `map(varchar, varchar)` the repeated key / value record that
    BigQuery's own billing export uses for labels (BigQuery has no MAP). -#}
{% macro bigquery_type(duckdb_type) %}
    {%- set re = modules.re -%}
    {%- set spelled = duckdb_type | lower -%}
    {%- set spelled = re.sub('map\\(\\s*varchar\\s*,\\s*varchar\\s*\\)', 'array<struct<key string, value string>>', spelled) -%}
    {%- set spelled = re.sub('"(\\w+)"', '`\\1`', spelled) -%}
    {%- set spelled = spelled.replace('struct(', 'struct<').replace(')', '>') -%}
    {%- set spelled = re.sub('\\bvarchar\\b', 'string', spelled) -%}
    {%- set spelled = re.sub('\\bdouble\\b', 'float64', spelled) -%}
    {%- set spelled = re.sub('\\b(bigint|integer)\\b', 'int64', spelled) -%}
    {%- set spelled = re.sub('\\btimestamptz\\b', 'timestamp', spelled) -%}
    {#- innermost first: `struct<... struct<...>[]>` needs a pass per level (two suffice) -#}
    {%- set array_suffix = '(\\w+|struct<[^<>]*>)\\[\\]' -%}
    {%- set spelled = re.sub(array_suffix, 'array<\\1>', spelled) -%}
    {%- set spelled = re.sub(array_suffix, 'array<\\1>', spelled) -%}
    {%- if '[]' in spelled -%}
        {{ exceptions.raise_compiler_error("no BigQuery spelling for the type " ~ duckdb_type) }}
    {%- endif -%}
    {{ return(spelled) }}
{% endmacro %}

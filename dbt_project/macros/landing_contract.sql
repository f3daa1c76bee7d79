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
-#}
{% macro landing_contract() %}
    {%- set key_values = 'struct("key" varchar, "value" varchar)[]' -%}
    {%- set partitioned = [('month', 'varchar'), ('file_row_number', 'bigint')] -%}
    {%- set org = [('snapshot', 'varchar'), ('file_row_number', 'bigint')] -%}
    {%- set aws_scope_columns = [] -%}
    {%- for scope in ['scope_1', 'scope_2_lbm', 'scope_2_mbm', 'scope_3_lbm', 'scope_3_mbm'] -%}
        {%- do aws_scope_columns.append(('total_' ~ scope ~ '_emissions_value', 'double', 'optional')) -%}
        {%- do aws_scope_columns.append(('total_' ~ scope ~ '_emissions_unit', 'varchar', 'optional')) -%}
    {%- endfor -%}
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
    }) }}
{% endmacro %}

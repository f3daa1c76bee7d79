{#-
    methodology.md section 1: a row belongs to the system of the first rule
    (lowest rule_order) that matches it. Returns (row_id, system_id,
    rule_order) for the rows some rule matches; the caller left-joins it and
    calls the rest `unattributed`.

    `matchers` is a list of (source_type, value expression): a rule of that
    type matches when the expression, evaluated on the row (alias
    `candidate_rows`) and the rule (alias `rules`), is LIKE the rule's
    pattern (escape character backslash, as the org config extractor writes).

    `carried`: columns of the row that functionally depend on `row_id`
    (e.g. its month), returned beside it and partitioned by, so that the
    caller can join on them too and a filter on them (an incremental model's
    months) reaches the rows before the rules are matched.
-#}
{% macro first_matching_rule(rows_relation, row_id, matchers, carried=[]) -%}
    select
        {%- for column in carried %}
        {{ column }},
        {%- endfor %}
        {{ row_id }},
        system_id,
        rule_order
    from (
        select
            {%- for column in carried %}
            candidate_rows.{{ column }},
            {%- endfor %}
            candidate_rows.{{ row_id }},
            rules.system_id,
            rules.rule_order,
            row_number() over (
                partition by {% for column in carried %}candidate_rows.{{ column }}, {% endfor -%}
                candidate_rows.{{ row_id }}
                order by rules.rule_order, rules.system_id
            ) as match_rank
        from {{ rows_relation }} as candidate_rows
        inner join {{ ref('stg_org__attribution_rules') }} as rules
            on
            {%- for matcher in matchers %}
                (rules.source_type = '{{ matcher[0] }}' and {{ like_escaped(matcher[1], 'rules.like_pattern') }})
                {%- if not loop.last %} or{% endif %}
            {%- endfor %}
    ) as ranked_matches
    where match_rank = 1
{%- endmacro %}

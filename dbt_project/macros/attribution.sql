{#-
    methodology.md section 1: a row belongs to the system of the first rule
    (lowest rule_order) that matches it. Returns (row_id, system_id,
    rule_order) for the rows some rule matches; the caller left-joins it and
    calls the rest `unattributed`.

    `matchers` is a list of (source_type, value expression): a rule of that
    type matches when the expression, evaluated on the row (alias
    `candidate_rows`) and the rule (alias `rules`), is LIKE the rule's
    pattern (escape character backslash, as the org config extractor writes).
-#}
{% macro first_matching_rule(rows_relation, row_id, matchers) -%}
    select
        {{ row_id }},
        system_id,
        rule_order
    from (
        select
            candidate_rows.{{ row_id }},
            rules.system_id,
            rules.rule_order,
            row_number() over (
                partition by candidate_rows.{{ row_id }}
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

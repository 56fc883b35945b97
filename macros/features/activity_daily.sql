{#- The columns of int_customer_activity_daily and one row of its union of sources:
    `given` maps a column to its expression; every other count is 0 (revenue as
    decimal(38, 2)) and every other timestamp null, so every source lines up. -#}

{% macro activity_count_columns() -%}
    {{ return(['orders', 'order_revenue', 'refunds', 'refund_revenue', 'cancelled_orders',
               'coupon_orders', 'messages_sent', 'messages_delivered', 'messages_bounced',
               'messages_opened', 'messages_machine_opened', 'messages_clicked',
               'unsubscribes', 'spam_complaints', 'hard_bounces', 'sessions', 'page_views',
               'product_views', 'add_to_carts', 'checkouts_started']) }}
{%- endmacro %}


{% macro activity_latest_columns() -%}
    {{ return(['last_order_at', 'last_open_at', 'last_click_at', 'last_visit_at',
               'last_add_to_cart_at']) }}
{%- endmacro %}


{% macro activity_day_row(customer, day, given) -%}
        {{ customer }} as customer_id,
        cast({{ day }} as date) as activity_date,
        {%- for c in activity_count_columns() %}
        {{ given.get(c, 'cast(0 as decimal(38, 2))' if c in ('order_revenue', 'refund_revenue')
                        else 'cast(0 as bigint)') }} as {{ c }},
        {%- endfor %}
        {%- for c in activity_latest_columns() %}
        {{ given.get(c, 'cast(null as timestamp)') }} as {{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
{%- endmacro %}


{#- `column` of the first of `tables` that has a row: the key of a row of full outer
    joins (one table: its column as it is). -#}
{% macro coalesce_columns(tables, column) -%}
    {%- if tables | length == 1 -%}
    {{ tables[0] }}.{{ column }}
    {%- else -%}
    coalesce({% for t in tables %}{{ t }}.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- A number 0..9999 from md5(salt:customer_id): deterministic and the same on every
    engine (md5 is standard; engine hash() functions differ), so a customer stays in or
    out of the holdout across runs and warehouses. -#}
{% macro holdout_bucket(customer_id) -%}
    {{ return(adapter.dispatch('holdout_bucket', 'customer_segments')(customer_id)) }}
{%- endmacro %}

{% macro default__holdout_bucket(customer_id) -%}
    (cast(('0x' || substr(md5('{{ var("holdout_salt") }}:' || {{ customer_id }}), 1, 8))
        as bigint) % 10000)
{%- endmacro %}

{% macro spark__holdout_bucket(customer_id) -%}
    (cast(conv(substr(md5(concat('{{ var("holdout_salt") }}:', {{ customer_id }})), 1, 8),
        16, 10) as bigint) % 10000)
{%- endmacro %}

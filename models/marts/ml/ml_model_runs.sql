{{ config(materialized='incremental', unique_key='run_id', on_schema_change='append_new_columns') }}
{#- Every model fit ever made, once: the fit tables keep only what is in use; this
    keeps the history, with the main metrics as columns and the rest as JSON. -#}
with clusters as (
    select * from {{ ref('ml_clusters_fit') }}
),

churn as (
    select * from {{ ref('ml_churn_fit') }}
),

value as (
    select * from {{ ref('ml_value_fit') }}
),

fits as (
    select * from clusters
    union all
    select * from churn
    union all
    select * from value
),

final as (
    select distinct
        run_id,
        model_name,
        status,
        reason,
        code_version,
        training_rows,
        cast({{ json_number('metrics', '$.k') }} as integer) as k,
        {{ json_number('metrics', '$.silhouette') }} as silhouette,
        {{ json_number('metrics', '$.roc_auc') }} as roc_auc,
        {{ json_number('metrics', '$.pr_auc') }} as pr_auc,
        {{ json_number('metrics', '$.brier') }} as brier_score,
        {{ json_number('metrics', '$.calibration_error') }} as calibration_error,
        {{ json_number('metrics', '$.lift_top_20') }} as lift_top_20,
        {{ json_number('metrics', '$.revenue_relative_error') }} as value_revenue_error,
        {{ json_number('metrics', '$.orders_relative_error') }} as value_orders_error,
        {{ json_number('metrics', '$.revenue_spearman') }} as value_rank_correlation,
        {{ json_text('metrics', '$.feature_importances') }} as feature_importances,
        {{ json_string('metrics', '$.data_window') }} as data_window,
        params,
        metrics,
        as_of_date,
        fitted_at
    from fits
    {% if is_incremental() %}
    where run_id not in (select run_id from {{ this }})
    {% endif %}
)

select * from final

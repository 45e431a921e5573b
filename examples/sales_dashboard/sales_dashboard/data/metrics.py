"""Pure pandas aggregations used by the pages. No Dara imports here."""

from __future__ import annotations

import pandas as pd


def filter_sales(df: pd.DataFrame, year: int | str | None = None, region: str | None = None) -> pd.DataFrame:
    if year not in (None, ''):
        df = df[df['year'] == int(year)]
    if region not in (None, '', 'All'):
        df = df[df['region'] == region]
    return df


def headline_kpis(df: pd.DataFrame, year: int | str) -> dict[str, float]:
    current = filter_sales(df, year)
    previous = filter_sales(df, int(year) - 1)
    revenue = float(current['revenue'].sum())
    previous_revenue = float(previous['revenue'].sum()) or 1.0
    return {
        'Revenue': revenue,
        'Orders': float(len(current)),
        'Avg order value': revenue / max(len(current), 1),
        'YoY growth %': 100.0 * (revenue - previous_revenue) / previous_revenue,
    }


def revenue_by_region(df: pd.DataFrame, year: int | str) -> pd.DataFrame:
    current = filter_sales(df, year)
    out = current.groupby('region', as_index=False)['revenue'].sum()
    out['share %'] = (100.0 * out['revenue'] / out['revenue'].sum()).round(1)
    return out.sort_values('revenue', ascending=False)


def region_totals_all_years(df: pd.DataFrame) -> pd.DataFrame:
    out = df.pivot_table(index='region', columns='year', values='revenue', aggfunc='sum').reset_index()
    out.columns = [str(c) for c in out.columns]
    return out


def monthly_trend(df: pd.DataFrame, year: int | str, region: str | None = None) -> pd.DataFrame:
    current = filter_sales(df, year, region)
    return current.groupby('month', as_index=False)['revenue'].sum()


def top_accounts(df: pd.DataFrame, year: int | str, n: int = 10) -> pd.DataFrame:
    current = filter_sales(df, year)
    out = current.groupby('account', as_index=False).agg(revenue=('revenue', 'sum'), orders=('units', 'count'))
    return out.sort_values('revenue', ascending=False).head(n)


def attainment(df: pd.DataFrame, targets: pd.DataFrame, year: int | str) -> pd.DataFrame:
    actual = filter_sales(df, year).groupby(['region', 'quarter'], as_index=False)['revenue'].sum()
    merged = targets.merge(actual, on=['region', 'quarter'], how='left').fillna({'revenue': 0.0})
    merged['attainment %'] = (100.0 * merged['revenue'] / merged['target']).round(1)
    return merged


def period_label(df: pd.DataFrame, year: int | str) -> dict[str, str]:
    current = filter_sales(df, year)
    if current.empty:
        return {'label': f'No orders in {year}', 'range': ''}
    first, last = current['date'].min(), current['date'].max()
    return {'label': f'FY{year}: {len(current):,} orders', 'range': f'{first:%d %b} to {last:%d %b %Y}'}

"""Reusable table widgets."""

import pandas as pd
from dara.components import Card, Table
from dara.core import py_component


@py_component
def account_table(data: pd.DataFrame, columns, title: str = 'Top accounts'):
    visible = data[[c for c in columns if c in data.columns]]
    return Card(Table(data=visible, max_rows=10), title=title)

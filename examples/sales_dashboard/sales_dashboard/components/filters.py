"""Filter summaries shown above the tables."""

from dara.components import Card, Text
from dara.core import DerivedVariable, Variable

from sales_dashboard import state
from sales_dashboard.data import metrics


def period_summary(year: Variable):
    summary = DerivedVariable(metrics.period_label, variables=[state.sales_data, year])
    return Card(Text(summary.get('label')), Text(summary.get('range')), title='Period')

"""The metrics app."""

from dara.components import Button, Stack
from dara.core import ConfigurationBuilder, Variable

from metrics.actions import export
from metrics.components import gauge, kpi, legend

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM501 x1); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'
revenue = Variable(1200.0, uid='metrics-revenue')


def metrics_page():
    return Stack(
        kpi('Revenue', revenue),
        kpi('Margin', revenue),
        gauge('Load', 40),
        gauge('Uptime', 99.5, unit=' pct'),
        legend(['revenue', 'margin']),
        Button('Export', onclick=export('csv', 100)),
    )


config.router.add_page(path='/', content=metrics_page, id='index')

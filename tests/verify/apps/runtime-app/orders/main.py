import os

from dara.core import ConfigurationBuilder
from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend

from orders.pages import dashboard

config = ConfigurationBuilder()

# dara-migrate (DM201): shared runtime for multi-worker deployments.
# Without DARA_VALKEY_URL the app keeps single-process behaviour (dev, tests).
if os.environ.get('DARA_VALKEY_URL'):
    config.configure_runtime(
        scope=RuntimeScope(
            namespace=os.environ['DARA_NAMESPACE'],
            app_id='orders',
            deployment_id=os.environ['DARA_DEPLOYMENT_ID'],
        ),
        backend=ValkeyDistributedBackend(url=os.environ['DARA_VALKEY_URL']),
    )

config.router.add_page(path='dashboard', content=dashboard, id='dashboard')

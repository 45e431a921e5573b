"""Board: a black-formatted app whose strings are double-quoted."""
import os

from dara.core import ConfigurationBuilder
from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend

from board.pages.orders import orders_page
from board.pages.summary import summary_page

config = ConfigurationBuilder()
# dara-migrate: no error left; the runtime checks what static analysis cannot (warn:
# report violations while the app runs).
config.distributed_mode = "warn"
# dara-migrate (DM201): shared runtime for multi-worker deployments.
# Without DARA_VALKEY_URL the app keeps single-process behaviour (dev, tests).
if os.environ.get("DARA_VALKEY_URL"):
    config.configure_runtime(
        scope=RuntimeScope(
            namespace=os.environ["DARA_NAMESPACE"],
            app_id="quote-board",
            deployment_id=os.environ["DARA_DEPLOYMENT_ID"],
        ),
        backend=ValkeyDistributedBackend(url=os.environ["DARA_VALKEY_URL"]),
    )
config.title = "Board"

router = config.router
router.add_page(path="/", content=summary_page, id="index")
router.add_page(path="orders", content=orders_page, name="Orders", id="orders")

"""The MLflow sink: the monitor's scalars as metrics, verdicts as tags, profiles as images.

Uses ``MlflowClient`` with an explicit run id (no global active run is touched), so it works
beside the user's own ``mlflow`` calls and against any tracking store, a local folder or
sqlite file included. ``mlflow`` is imported only when the sink is made.
"""

from __future__ import annotations

import time
from typing import Any

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.scalars import profile_scalars, step_scalars
from gradtrace.monitor.sinks import Sink

MAX_BATCH = 1000  # MLflow's limit on metrics per log_batch call


class MlflowSink(Sink):
    """Logs norms, loss, learning rate, horizon, gamma_hat, verdict and profile images to MLflow.

    Args:
        tracking_uri: where the store is ("file:/tmp/mlruns", "sqlite:///runs.db", a server);
            None: MLflow's default (the ``MLFLOW_TRACKING_URI`` variable, else ./mlruns).
        run_id: log into this existing run (left open on close); None: the active run of
            ``mlflow`` if there is one (left open), else a new run in ``experiment``
            (ended on close).
        experiment: the experiment name of a new run.
        run_name: the name of a new run.
        prefix: put in front of every metric key and tag.
        images: also log each profile as an image (``<prefix>profile/g_by_lag``, one per step).

    The sink pickles and deep-copies: a copy logs into the same run.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        run_id: str | None = None,
        experiment: str = "gradtrace",
        run_name: str | None = None,
        prefix: str = "gradtrace/",
        images: bool = True,
    ) -> None:
        mlflow = _import_mlflow()
        self.tracking_uri = tracking_uri or mlflow.get_tracking_uri()
        self.prefix, self.images = prefix, bool(images)
        self._client: Any = None
        self._owned = False
        if run_id is None and tracking_uri is None and mlflow.active_run() is not None:
            run_id = mlflow.active_run().info.run_id
        if run_id is None:
            client = self.client
            found = client.get_experiment_by_name(experiment)
            exp_id = found.experiment_id if found else client.create_experiment(experiment)
            run_id = client.create_run(exp_id, run_name=run_name).info.run_id
            self._owned = True
        self.run_id = run_id
        self._pending: list[Any] = []

    @property
    def client(self) -> Any:
        """The MlflowClient of the store (made on first use)."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None, "_pending": [], "_owned": False}

    def _queue(self, step: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(self.prefix + k, v, now, step) for k, v in metrics.items()]

    def write_step(self, rec: StepRecord) -> None:
        """Queue the step's scalars (sent in batches on flush)."""
        self._queue(rec.step, step_scalars(rec))

    def write_profile(self, rec: ProfileRecord) -> None:
        """Queue the profile's scalars, tag the verdict, log the image."""
        self._queue(rec.step, profile_scalars(rec))
        self.client.set_tag(self.run_id, self.prefix + "verdict", rec.verdict)
        if self.images:
            from gradtrace.monitor.profile_image import profile_image

            key = self.prefix + "profile/g_by_lag"
            self.client.log_image(self.run_id, profile_image(rec), key=key, step=rec.step)

    def write_alert(self, alert: Alert) -> None:
        """Tag the latest alert of each kind."""
        self.client.set_tag(self.run_id, f"{self.prefix}alert/{alert.kind}", alert.message[:5000])

    def flush(self) -> None:
        """Send the queued metrics."""
        pending, self._pending = self._pending, []
        for i in range(0, len(pending), MAX_BATCH):
            self.client.log_batch(self.run_id, metrics=pending[i : i + MAX_BATCH])

    def close(self, history: History) -> None:
        """Send what is queued; end the run if this sink started it."""
        self.flush()
        if self._owned:
            self.client.set_terminated(self.run_id)
            self._owned = False


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as e:
        raise ImportError("MlflowSink needs mlflow: pip install 'gradtrace[mlflow]'") from e
    return mlflow

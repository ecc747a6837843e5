"""``hydra/launcher=subprocess``: submitit's local launcher, with each job's stderr log followed
onto the console while the sweep runs (``scaling.cli.follow``); submitit itself only collects
the results at the end."""

from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher


class FollowingLocalLauncher(LocalLauncher):
    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from scaling.cli.follow import LogFollower

        with LogFollower(Path(str(self.params["submitit_folder"]))):
            return super().launch(job_overrides, initial_job_idx)

"""A progress bar per topic: records done of those to read, events per second, time left."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s", style="progress.data.speed")


class TopicProgress:
    def __init__(self, todo: Mapping[str, int], *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeRemainingColumn(),
            disable=not enabled,
        )
        self._tasks = {
            topic: self._progress.add_task(topic, total=total) for topic, total in todo.items()
        }

    def advance(self, topic: str, n: int) -> None:
        self._progress.advance(self._tasks[topic], n)

    def __enter__(self) -> TopicProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

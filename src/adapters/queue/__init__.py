"""Training on other machines: a job queue in the records' PostgreSQL database (procrastinate).

The bot's trainers become ``QueuedModelTrainer``: ``start`` queues the job (``TrainingQueue``),
``refresh`` reads what the worker recorded, ``cancel`` withdraws or aborts it. ``trainerbot
worker`` runs a ``TrainingWorker`` on any machine that reaches the database and the workspace
folder: it takes queued jobs one at a time and trains them with its own trainers.
"""

from .queue import TRAIN_TASK, TrainingQueue, conninfo
from .trainer import QueuedModelTrainer
from .worker import QueuedTraining, TrainingWorker

__all__ = [
    "TRAIN_TASK",
    "QueuedModelTrainer",
    "QueuedTraining",
    "TrainingQueue",
    "TrainingWorker",
    "conninfo",
]

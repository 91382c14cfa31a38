"""Every use case in one typed bundle: what a driving adapter (console, Discord, a program) needs."""

from __future__ import annotations

from dataclasses import dataclass

from .answer_message import AnswerMessage
from .answer_voice import AnswerVoiceMessage
from .archive_files import ArchiveFiles
from .cancel_job import CancelJob
from .export_data import ExportData
from .fix_failure import FixFailure
from .follow_job import FollowJob
from .get_file import GetFile
from .lease_job import LeaseJob
from .link_reply import LinkReply
from .list_jobs import ListJobs
from .list_models import ListModels
from .manage_settings import IdentifyMember, ManageSettings
from .record_correction import RecordCorrection
from .record_feedback import RecordFeedback
from .refresh_job import RefreshJob
from .run_training import RunTrainingJob
from .select_dataset import SelectDataset
from .show_instructions import ShowInstructions
from .speak_reply import SpeakReply
from .test_model import TestModel
from .train_model import TrainModel
from .transcribe_voice import TranscribeVoice
from .use_model import UseModel


@dataclass(frozen=True)
class UseCases:
    answer_message: AnswerMessage
    answer_voice_message: AnswerVoiceMessage
    link_reply: LinkReply
    transcribe_voice: TranscribeVoice
    speak_reply: SpeakReply
    train_model: TrainModel
    test_model: TestModel
    fix_failure: FixFailure
    record_correction: RecordCorrection
    record_feedback: RecordFeedback
    archive_files: ArchiveFiles
    export_data: ExportData
    select_dataset: SelectDataset
    get_file: GetFile
    show_instructions: ShowInstructions
    list_jobs: ListJobs
    refresh_job: RefreshJob
    follow_job: FollowJob
    lease_job: LeaseJob
    run_training: RunTrainingJob
    cancel_job: CancelJob
    list_models: ListModels
    use_model: UseModel
    manage_settings: ManageSettings
    identify_member: IdentifyMember

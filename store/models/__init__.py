"""Every table of the store. Importing this package registers them all on `metadata`."""

from store.models.audit import AuditEvent, AuditHead
from store.models.base import NAMING_CONVENTION, Versioned, metadata, utcnow
from store.models.operators import Operator, OperatorKey, OperatorRole, OperatorSession, Role, Setting
from store.models.organisations import (
    DECIDED_STATES,
    DEFAULT_COMMISSION_CAP_BP,
    ApplicationCriterion,
    ApplicationState,
    Criterion,
    LegalForm,
    ObligationItem,
    ObligationKind,
    OPEN_STATES,
    OwnershipGroup,
    Platform,
    PlatformApplication,
    PlatformStatus,
    Recommendation,
    RejectReason,
    Verdict,
)
from store.models.participants import (
    ACTIVE_ENROLLMENT,
    BlacklistEntry,
    Enrollment,
    EnrollmentStatus,
    ExclusionEntry,
    ExclusionKind,
    ExclusionList,
    Participant,
    ParticipantStatus,
    ParticipantTally,
    SelectionRejection,
    Sex,
    Wave,
    WaveProvinceQuota,
    WaveState,
)
from store.models.payments import (
    AccountChannel,
    AccountOwner,
    BatchApproval,
    BatchKind,
    BatchState,
    FailureKind,
    LineStatus,
    PaymentBatch,
    PaymentLine,
    PaymentRetryOverride,
    PayoutAccount,
)
from store.models.providers import (
    ONLINE_MODES,
    Assessment,
    AssessmentScheme,
    AssessmentScore,
    Course,
    CourseListing,
    CourseMode,
    CourseState,
    CurationStage,
    DocumentKind,
    DocumentStatus,
    ListingStatus,
    Provider,
    ProviderDocument,
    ProviderPlatform,
    ProviderState,
)

__all__ = [name for name in dir() if not name.startswith("_")]

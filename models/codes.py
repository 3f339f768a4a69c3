"""The vocabularies the schema stores, with the labels people read.

Concern codes follow the Children in Need census "factors identified at the end of assessment";
placement codes and missing types follow the SSDA903 return (see shared/DOMAIN.md).
"""

from enum import StrEnum


class OrganisationKind(StrEnum):
    LOCAL_AUTHORITY = "local_authority"
    POLICE = "police"
    SCHOOL = "school"
    HEALTH = "health"
    COMMUNITY = "community"
    HOUSING = "housing"  # a housing association or the council's housing service
    CARE_PROVIDER = "care_provider"  # runs children's homes or supported accommodation


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    SOCIAL_WORKER = "social_worker"
    PANEL_MEMBER = "panel_member"
    PLACEMENT_COMMISSIONER = "placement_commissioner"
    POLICE_PARTNER = "police_partner"
    COMMUNITY_PARTNER = "community_partner"

    @property
    def sees_individuals(self) -> bool:
        """Roles inside the owning authority; partners only ever get disclosure-controlled maps."""
        return self not in (Role.POLICE_PARTNER, Role.COMMUNITY_PARTNER)

    @property
    def imports_returns(self) -> bool:
        """Who loads the SSDA903 return: the placements team and administrators."""
        return self in (Role.ADMINISTRATOR, Role.PLACEMENT_COMMISSIONER)


class ContextKind(StrEnum):
    PARK = "park"
    TAKEAWAY = "takeaway"
    TRANSPORT_HUB = "transport_hub"
    SHOP = "shop"
    SCHOOL = "school"
    HOUSING_ESTATE = "housing_estate"
    HOTEL = "hotel"
    PLACEMENT_PROVIDER = "placement_provider"
    ONLINE_SPACE = "online_space"
    PEER_GROUP = "peer_group"
    OTHER = "other"

    @property
    def has_location(self) -> bool:
        return self not in (ContextKind.ONLINE_SPACE, ContextKind.PEER_GROUP)


CONTEXT_KIND_LABELS = {
    ContextKind.PARK: "Park or open space",
    ContextKind.TAKEAWAY: "Takeaway",
    ContextKind.TRANSPORT_HUB: "Transport hub",
    ContextKind.SHOP: "Shop or shopping centre",
    ContextKind.SCHOOL: "School",
    ContextKind.HOUSING_ESTATE: "Housing estate",
    ContextKind.HOTEL: "Hotel",
    ContextKind.PLACEMENT_PROVIDER: "Children's home or placement provider",
    ContextKind.ONLINE_SPACE: "Online space",
    ContextKind.PEER_GROUP: "Peer group",
    ContextKind.OTHER: "Other",
}

# Font Awesome 6 (free, solid) glyphs, so a marker's kind is told by its shape as well as its colour.
CONTEXT_KIND_ICONS = {
    ContextKind.PARK: ("tree", "green"),
    ContextKind.TAKEAWAY: ("utensils", "orange"),
    ContextKind.TRANSPORT_HUB: ("train", "blue"),
    ContextKind.SHOP: ("cart-shopping", "cadetblue"),
    ContextKind.SCHOOL: ("school", "purple"),
    ContextKind.HOUSING_ESTATE: ("building", "gray"),
    ContextKind.HOTEL: ("bed", "darkred"),
    ContextKind.PLACEMENT_PROVIDER: ("house", "darkblue"),
    ContextKind.OTHER: ("location-dot", "black"),
}


class ContextStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContextChangeAction(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    CLOSED = "closed"
    REOPENED = "reopened"
    DELETED = "deleted"
    RESTORED = "restored"
    MERGED_IN = "merged_in"  # another record was merged into this one
    MERGED_AWAY = "merged_away"  # this record was merged into another
    LINK_ADDED = "link_added"
    LINK_CHANGED = "link_changed"
    LINK_REMOVED = "link_removed"
    LINK_RESTORED = "link_restored"


CONTEXT_CHANGE_LABELS = {
    ContextChangeAction.CREATED: "Recorded",
    ContextChangeAction.EDITED: "Edited",
    ContextChangeAction.CLOSED: "Closed",
    ContextChangeAction.REOPENED: "Reopened",
    ContextChangeAction.DELETED: "Deleted",
    ContextChangeAction.RESTORED: "Restored",
    ContextChangeAction.MERGED_IN: "Duplicate merged in",
    ContextChangeAction.MERGED_AWAY: "Merged into another record",
    ContextChangeAction.LINK_ADDED: "Young person linked",
    ContextChangeAction.LINK_CHANGED: "Link changed",
    ContextChangeAction.LINK_REMOVED: "Link removed",
    ContextChangeAction.LINK_RESTORED: "Link restored",
}


# The Children in Need census's factors identified at the end of assessment, in its order, with
# short labels; "21" (no factors identified) is only ever given alone (the census's rule 8869).
CONCERN_CODES = {
    "1A": "Alcohol misuse: concerns about the child",
    "1B": "Alcohol misuse: concerns about the child's parent",
    "1C": "Alcohol misuse: concerns about another person in the household",
    "2A": "Drug misuse: concerns about the child",
    "2B": "Drug misuse: concerns about the child's parent",
    "2C": "Drug misuse: concerns about another person in the household",
    "3A": "Domestic abuse: the child is the subject",
    "3B": "Domestic abuse: the child's parent is the subject",
    "3C": "Domestic abuse: another person in the household is the subject",
    "4A": "Mental health: concerns about the child",
    "4B": "Mental health: concerns about the child's parent",
    "4C": "Mental health: concerns about another person in the household",
    "5A": "Learning disability: concerns about the child",
    "5B": "Learning disability: concerns about the child's parent",
    "5C": "Learning disability: concerns about another person in the household",
    "6A": "Physical disability or illness: concerns about the child",
    "6B": "Physical disability or illness: concerns about the child's parent",
    "6C": "Physical disability or illness: concerns about another person in the household",
    "7A": "Young carer",
    "8B": "Privately fostered: from overseas, intending to return",
    "8C": "Privately fostered: from overseas, intending to stay",
    "8D": "Privately fostered: in the UK, in an educational placement",
    "8E": "Privately fostered: in the UK, in an alternative family arrangement",
    "8F": "Privately fostered: other",
    "9A": "Unaccompanied asylum-seeking child",
    "10A": "Going missing",
    "11A": "Child sexual exploitation",
    "12A": "Trafficking",
    "13A": "Gangs",
    "14A": "Socially unacceptable behaviour",
    "15A": "Self-harm",
    "16A": "Neglect",
    "17A": "Emotional abuse",
    "18B": "Physical abuse: child on child",
    "18C": "Physical abuse: adult on child",
    "19B": "Sexual abuse: child on child",
    "19C": "Sexual abuse: adult on child",
    "20": "Other",
    "21": "No factors identified",
    "22A": "Female genital mutilation",
    "23A": "Abuse linked to faith or belief",
    "24A": "Child criminal exploitation",
}
NO_FACTORS = "21"


class LinkRole(StrEnum):
    """How a young person is connected to a context."""

    HARMED_THERE = "harmed_there"
    AT_RISK_THERE = "at_risk_there"
    FREQUENTS = "frequents"
    FOUND_THERE = "found_there"
    LIVES_OR_PLACED_THERE = "lives_or_placed_there"
    ATTENDS = "attends"
    MEMBER = "member"  # of a peer group or online space


class Reliability(StrEnum):
    """How far the information behind a link can be relied on (after the 3x5x2 intelligence grading)."""

    KNOWN_DIRECTLY = "known_directly"
    CORROBORATED = "corroborated"
    NOT_CORROBORATED = "not_corroborated"
    SUSPECTED_FALSE = "suspected_false"


class MissingType(StrEnum):
    """SSDA903 ``MISSING``."""

    MISSING = "M"  # whereabouts unknown
    AWAY = "A"  # away from placement without authorisation, whereabouts known


class ReturnedBy(StrEnum):
    SELF = "self"
    POLICE = "police"
    CARER = "carer"
    FAMILY = "family"
    FRIENDS = "friends"
    OTHER = "other"
    UNKNOWN = "unknown"


# Labels name the code's group and, where a code is not in every collection year, its years
# (models.collection_years); the DfE's specification of each year has the detail.
PLACE_CODES = {
    "A3": "Placed for adoption (A3)",
    "A4": "Placed for adoption (A4)",
    "A5": "Placed for adoption (A5)",
    "A6": "Placed for adoption (A6)",
    "H5": "Semi-independent living (to 2024/25)",
    "K1": "Secure children's home",
    "K2": "Children's home",
    "K3": "Registered supported accommodation (from 2024/25)",
    "P1": "Placed with parents",
    "P2": "Independent living (to 2024/25)",
    "P3": "Residential employment",
    "R1": "Residential care home",
    "R2": "NHS or health trust",
    "R3": "Family centre or mother and baby unit",
    "R5": "Young offender institution",
    "S1": "Residential school",
    "T0": "Temporary move (T0)",
    "T1": "Temporary move (T1)",
    "T2": "Temporary move (T2)",
    "T3": "Temporary move (T3)",
    "T4": "Temporary move (T4)",
    "U1": "Foster with relative or friend (U1)",
    "U2": "Foster with relative or friend (U2)",
    "U3": "Foster with relative or friend (U3)",
    "U4": "Foster with other carers (U4)",
    "U5": "Foster with other carers (U5)",
    "U6": "Foster with other carers (U6)",
    "Z1": "Other placement (to 2024/25)",
    "Z11": "Other placement (Z11, from 2025/26)",
    "Z12": "Other placement (Z12, from 2025/26)",
    "Z13": "Other placement (Z13, from 2025/26)",
    "Z14": "Other placement (Z14, from 2025/26)",
}

# SSDA903 LS, the legal status of an episode. V3 and V4 are series of short breaks: the DfE leaves
# them out of its counts of children looked after.
LEGAL_STATUS_CODES = {
    "C1": "Interim care order",
    "C2": "Full care order",
    "D1": "Freeing order granted",
    "E1": "Placement order granted",
    "V2": "Accommodated under section 20 (single period)",
    "V3": "Short breaks (each recorded)",
    "V4": "Short breaks (agreement recorded)",
    "L1": "Police protection, in local authority accommodation",
    "L2": "Emergency protection order",
    "L3": "Child assessment order, in local authority accommodation",
    "J1": "Remanded to local authority or youth detention accommodation",
    "J2": "Placed in local authority accommodation under PACE",
    "J3": "Youth rehabilitation order with a residence or fostering requirement",
}
SHORT_BREAKS = frozenset({"V3", "V4"})


class CaseStage(StrEnum):
    """The steps of Level 2 work on a context (contextual safeguarding's context assessment)."""

    REFERRAL = "referral"
    ASSESSMENT = "assessment"
    PLAN = "plan"
    REVIEW = "review"
    CLOSURE = "closure"


CASE_STAGE_LABELS = {
    CaseStage.REFERRAL: "Referred",
    CaseStage.ASSESSMENT: "Assessed",
    CaseStage.PLAN: "Plan agreed",
    CaseStage.REVIEW: "Reviewed",
    CaseStage.CLOSURE: "Closed as a case",
}


class ChildMeetingKind(StrEnum):
    """Level 1 work on one child where extra-familial harm may be considered."""

    ASSESSMENT = "assessment"  # a child and family (section 17 or 47) assessment
    INITIAL_CONFERENCE = "initial_conference"  # initial child protection conference
    REVIEW_CONFERENCE = "review_conference"  # review child protection conference


CHILD_MEETING_LABELS = {
    ChildMeetingKind.ASSESSMENT: "Child and family assessment",
    ChildMeetingKind.INITIAL_CONFERENCE: "Initial child protection conference",
    ChildMeetingKind.REVIEW_CONFERENCE: "Review child protection conference",
}
CONFERENCES = (ChildMeetingKind.INITIAL_CONFERENCE, ChildMeetingKind.REVIEW_CONFERENCE)

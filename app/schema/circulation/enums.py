"""The enums of circulation in GraphQL, each value described."""

from __future__ import annotations

from app.models.enums import CancelReason, HoldSource, HoldStatus
from app.schema.base import described_enum

HoldStatusEnum = described_enum(HoldStatus, "HoldStatus", "Where a hold stands.", {
    HoldStatus.WAITING: "予約待ち: waiting for a copy (see `queuePosition`).",
    HoldStatus.READY: "貸出準備完了: a copy is kept at the desk for the patron until the pickup deadline.",
    HoldStatus.FULFILLED: "The patron borrowed the copy: the hold is done.",
    HoldStatus.CANCELLED: "取消済: cancelled by the patron or staff, or expired (see `cancelReason`).",
})
HoldSourceEnum = described_enum(
    HoldSource, "HoldSource", "Where a hold was placed. Holds of every source count toward the patron's limit.", {
        HoldSource.WEB: "Web予約: placed by the patron on the web.",
        HoldSource.COUNTER: "Placed by staff at the counter (窓口).",
        HoldSource.INTERLIBRARY_LOAN: "An interlibrary-loan request (相互貸借): cancelled at the counter only.",
        HoldSource.PURCHASE_REQUEST: "A purchase request (購入リクエスト): cancelled at the counter only.",
    })
CancelReasonEnum = described_enum(CancelReason, "CancelReason", "Why a hold was cancelled.", {
    CancelReason.PATRON: "The patron cancelled it.",
    CancelReason.STAFF: "Staff cancelled it (e.g. on the patron's request at the counter).",
    CancelReason.EXPIRED: "Not collected by the pickup deadline (取置期限日): the copy went to the next in line.",
})

"""After-sales (售后, handbook §4): refunds, returns, exchanges, quality complaints, wrong or
missing items and price differences.

Each function looks at one order and `now`, decides what the shop may offer, registers the
after-sales ticket the team will work on, and returns the phrases to send. The buyer always
gets the ticket number and the time it will be handled by, so nobody has to ask twice.

Windows are counted in calendar days, the way buyers and the platform count them: signed on
11-20 → the 7-day no-reason return runs to the end of 11-27 (day 7 ok, day 8 not). Tickets
are added to the caller's session and flushed, not committed: the caller's unit of work
(bot.db.session_scope) commits them together with whatever else it changed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.formatting import cn_date, cn_time, yuan
from bot.shop.config import ShopConfig
from bot.shop.orders import note_on_order
from bot.shop.replies import Reply
from bot.store.models import (
    AfterSaleTicket,
    HandoffReason,
    Order,
    OrderFlag,
    OrderItem,
    OrderStatus,
    TicketKind,
    TicketStatus,
)

# Why the buyer wants the goods gone. Personal reasons (didn't like it, chose the wrong size)
# are the buyer's cost; a quality problem or an item not as described is the shop's.
PERSONAL = "personal"
QUALITY = "quality"
NOT_AS_DESCRIBED = "not_as_described"
REASONS = (PERSONAL, QUALITY, NOT_AS_DESCRIBED)

TICKET_PREFIX = "SH"  # 售后


# --- the questions the handbook's rules turn on --------------------------------------------


def received_on(order: Order) -> Optional[date]:
    """The signing date the no-reason window counts from (None while the parcel is on its way)."""
    signed = order.signed_at or order.completed_at
    return signed.date() if signed else None


def no_reason_last_day(order: Order, cfg: ShopConfig) -> Optional[date]:
    """The last day of the no-reason return: signing date + no_reason_days, inclusive."""
    signed = received_on(order)
    return signed + timedelta(days=cfg.returns.no_reason_days) if signed else None


def quality_last_day(order: Order, cfg: ShopConfig) -> Optional[date]:
    """The last day to report a quality problem: completion date + quality_days, inclusive.
    None before completion: until the trade completes a quality claim is always in time."""
    if order.completed_at is None:
        return None
    return order.completed_at.date() + timedelta(days=cfg.returns.quality_days)


def _within(last_day: Optional[date], now: datetime) -> bool:
    return last_day is not None and now.date() <= last_day


def _goods_fen(items: Sequence[OrderItem]) -> int:
    return sum(i.unit_price_fen * i.quantity for i in items)


def _titles(items: Sequence[OrderItem]) -> str:
    return "、".join(dict.fromkeys(i.product.title for i in items))


def _check_reason(reason: str) -> bool:
    """True when the shop is at fault (it pays freight and the quality window applies)."""
    if reason not in REASONS:
        raise ValueError(f"unknown after-sales reason {reason!r}; expected one of {', '.join(REASONS)}")
    return reason != PERSONAL


# --- tickets ------------------------------------------------------------------------------


def next_ticket_number(session: Session, now: datetime) -> str:
    """SH + date + a four-digit sequence for the day: SH202611200001, easy to read out."""
    prefix = f"{TICKET_PREFIX}{now:%Y%m%d}"
    last = session.execute(
        select(AfterSaleTicket.number)
        .where(AfterSaleTicket.number.like(prefix + "%"))
        .order_by(AfterSaleTicket.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def register_ticket(
    session: Session,
    order: Order,
    kind: TicketKind,
    reason: str,
    now: datetime,
    cfg: ShopConfig,
    amount_fen: int = 0,
    due_hours: Optional[int] = None,
) -> AfterSaleTicket:
    """The open ticket of this kind for the order, or a new one due in refund_hours.

    A buyer who asks twice gets the ticket already registered, not a second one for the
    team to handle twice (and a double refund to avoid).
    """
    for ticket in order.tickets:
        if ticket.kind is kind and ticket.status is TicketStatus.OPEN:
            return ticket
    hours = cfg.returns.refund_hours if due_hours is None else due_hours
    ticket = AfterSaleTicket(
        number=next_ticket_number(session, now),
        order=order,
        kind=kind,
        status=TicketStatus.OPEN,
        reason=reason[:128],
        amount_fen=amount_fen,
        created_at=now,  # shop-local time like every other DB datetime, not utcnow
        due_at=now + timedelta(hours=hours),
        created_by="bot",
    )
    session.add(ticket)
    session.flush()
    return ticket


def ticket_slots(ticket: AfterSaleTicket) -> Dict[str, object]:
    return {"ticket_no": ticket.number, "due": cn_time(ticket.due_at)}


def _open_ticket(order: Order) -> Optional[AfterSaleTicket]:
    open_tickets = [t for t in order.tickets if t.status is TicketStatus.OPEN]
    return max(open_tickets, key=lambda t: t.created_at) if open_tickets else None


def _finished_or_in_refund(order: Order) -> Optional[List[Reply]]:
    """Closed orders have nothing to refund; orders already refunding point to their ticket."""
    if order.status is OrderStatus.CLOSED:
        return [Reply("aftersales.order_closed", {"order_id": order.id})]
    if order.status is OrderStatus.REFUNDING:
        ticket = _open_ticket(order)
        if ticket is None:
            return [Reply("aftersales.refund_in_progress_untracked", {"order_id": order.id})]
        return [Reply("aftersales.refund_in_progress", ticket_slots(ticket))]
    return None


# --- refunds and returns ------------------------------------------------------------------


def _goods_going_back(order: Order, shop_fault: bool) -> Tuple[List[OrderItem], List[Reply]]:
    """The items the shop takes back, and a note for custom-made items it can't.

    Made-to-order goods can't be resold, so they are never taken back for personal reasons
    (a defect is the shop's fault whatever the item). Multi-item orders are split.
    """
    if shop_fault:
        return list(order.items), []
    returnable = [i for i in order.items if not i.product.custom_made]
    custom = [i for i in order.items if i.product.custom_made]
    notes = [Reply("aftersales.not_returnable_custom", {"custom_items": _titles(custom)})] if custom else []
    return returnable, notes


def _too_late(order: Order, now: datetime, cfg: ShopConfig, shop_fault: bool) -> Optional[Reply]:
    """For a received order: the reply when its return/exchange window has closed, else None."""
    if shop_fault:
        last_day = quality_last_day(order, cfg)
        if last_day is None or _within(last_day, now):
            return None
        # Past the quality window the bot can't promise anything: a person looks at it.
        return Reply(
            "aftersales.quality_past_deadline",
            {"last_day": cn_date(last_day)},
            handoff_reason=HandoffReason.QUALITY_PAST_DEADLINE,
        )
    last_day = no_reason_last_day(order, cfg)
    if _within(last_day, now):
        return None
    return Reply("aftersales.return_window_passed", {"last_day": cn_date(last_day)})


def refund_reply(session: Session, order: Order, now: datetime, cfg: ShopConfig, reason: str = PERSONAL) -> List[Reply]:
    """我要退款 / 不想要了 / 退货: cancel, refuse the parcel, or return, depending on where the
    goods are and whose fault it is."""
    shop_fault = _check_reason(reason)
    done = _finished_or_in_refund(order)
    if done:
        return done
    if order.status is OrderStatus.UNPAID:
        return [Reply("aftersales.refund_unpaid")]
    if order.shipped_at is None:
        # Before shipment a refund request cancels the whole order, freight included; the
        # blue flag stops the warehouse from shipping it meanwhile, and the order reads 退款中
        # everywhere (the buyer's page, the agent's panel) so nobody ships it by mistake.
        order.flag = OrderFlag.BLUE
        order.status = OrderStatus.REFUNDING
        ticket = register_ticket(
            session,
            order,
            TicketKind.REFUND,
            "未发货申请退款，取消订单（全额含运费）",
            now,
            cfg,
            amount_fen=order.total_fen,
        )
        return [Reply("aftersales.refund_cancel", {**ticket_slots(ticket), "refund_amount": yuan(order.total_fen)})]

    items, notes = _goods_going_back(order, shop_fault)
    if not items:
        return notes
    refund_fen = _goods_fen(items)

    if received_on(order) is None:
        # On the way: refusing the parcel is the quickest route; the refund follows once it is back.
        ticket = register_ticket(
            session, order, TicketKind.REFUND, "已发货未签收申请退款：拒收或签收后退回", now, cfg, amount_fen=refund_fen
        )
        phrase = "aftersales.refund_refuse_parcel"
    else:
        late = _too_late(order, now, cfg, shop_fault)
        if late:
            return [late]
        if shop_fault:
            why = "质量问题" if reason == QUALITY else "与描述不符"
            ticket = register_ticket(
                session, order, TicketKind.RETURN, f"{why}退货退款，运费由店铺承担", now, cfg, amount_fen=refund_fen
            )
            phrase = "aftersales.return_shop_pays"
        else:
            ticket = register_ticket(
                session, order, TicketKind.RETURN, "七天无理由退货，退回运费买家承担", now, cfg, amount_fen=refund_fen
            )
            phrase = "aftersales.return_no_reason"
    return notes + [Reply(phrase, {**ticket_slots(ticket), "refund_amount": yuan(refund_fen)})]


def withdraw_refund_reply(session: Session, order: Order, now: datetime) -> List[Reply]:
    """那还是别退了 照常发吧: the buyer takes a refund request back. Until someone has refunded
    it the ticket is withdrawn and the order goes back to where it was — an unshipped order
    to the warehouse's queue; once refunded, the buyer is told why it can't be undone."""
    requests = [t for t in order.tickets if t.kind in (TicketKind.REFUND, TicketKind.RETURN)]
    latest = max(requests, key=lambda t: t.created_at, default=None)
    if latest is None or latest.status in (TicketStatus.WITHDRAWN, TicketStatus.REJECTED):
        return [Reply("aftersales.nothing_to_withdraw", {"order_id": order.id})]
    if latest.status is TicketStatus.DONE:
        return [Reply("aftersales.withdraw_too_late", {"ticket_no": latest.number})]
    latest.status = TicketStatus.WITHDRAWN
    if order.shipped_at is None:
        order.status = OrderStatus.PAID
        if order.flag is OrderFlag.BLUE:
            order.flag = OrderFlag.RED
        note_on_order(order, f"买家撤销退款（{cn_time(now)}），照常发货")
        return [Reply("aftersales.refund_withdrawn_ship", {"ticket_no": latest.number, "order_id": order.id})]
    if order.status is OrderStatus.REFUNDING:
        order.status = OrderStatus.SIGNED if received_on(order) else OrderStatus.SHIPPED
    return [Reply("aftersales.refund_withdrawn", {"ticket_no": latest.number, "order_id": order.id})]


# --- exchanges ----------------------------------------------------------------------------


def exchange_reply(
    session: Session, order: Order, now: datetime, cfg: ShopConfig, wanted: Optional[str], reason: str = PERSONAL
) -> List[Reply]:
    """换个大一码 / 能换颜色吗: the same windows as returns. Before shipment it is just an
    order change; after signing, an exchange ticket records what goes back and what is wanted
    (the handbook's after-sales card)."""
    shop_fault = _check_reason(reason)
    done = _finished_or_in_refund(order)
    if done:
        return done
    if order.status is OrderStatus.UNPAID:
        return [Reply("aftersales.exchange_unpaid")]
    if order.shipped_at is None:
        if not wanted:
            return [Reply("aftersales.exchange_ask_wanted")]
        ticket = register_ticket(
            session,
            order,
            TicketKind.ORDER_CHANGE,
            f"未发货改规格：{wanted}",
            now,
            cfg,
            due_hours=cfg.returns.info_change_hours,
        )
        return [Reply("aftersales.exchange_before_shipment", {**ticket_slots(ticket), "wanted": wanted})]
    if received_on(order) is None:
        return [Reply("aftersales.exchange_wait_receipt")]

    items, notes = _goods_going_back(order, shop_fault)
    if not items:
        return notes
    late = _too_late(order, now, cfg, shop_fault)
    if late:
        return [late]
    if not wanted:
        return [Reply("aftersales.exchange_ask_wanted")]
    if shop_fault:
        ticket = register_ticket(
            session, order, TicketKind.EXCHANGE, f"换货：{wanted}（质量问题，运费店铺承担）", now, cfg
        )
        phrase = "aftersales.exchange_shop_pays"
    else:
        ticket = register_ticket(
            session, order, TicketKind.EXCHANGE, f"换货：{wanted}（个人原因，运费买家承担，差价多退少补）", now, cfg
        )
        phrase = "aftersales.exchange_registered"
    return notes + [Reply(phrase, {**ticket_slots(ticket), "wanted": wanted})]


# --- the rules, before the buyer decides ---------------------------------------------------


def return_policy_reply(order: Optional[Order], now: datetime, cfg: ShopConfig) -> List[Reply]:
    """七天无理由吗 / 退货运费谁出: the general rules, and with a signed order its real last day."""
    replies = [Reply("aftersales.policy_general")]
    if order is None:
        return replies
    last_day = no_reason_last_day(order, cfg)
    if last_day is not None:
        phrase = "aftersales.policy_last_day" if _within(last_day, now) else "aftersales.policy_window_passed"
        replies.append(Reply(phrase, {"last_day": cn_date(last_day)}))
    custom = [i for i in order.items if i.product.custom_made]
    if custom:
        replies.append(Reply("aftersales.not_returnable_custom", {"custom_items": _titles(custom)}))
    return replies


# --- quality complaints and compensation --------------------------------------------------


def quality_reply(
    session: Session,
    order: Order,
    now: datetime,
    cfg: ShopConfig,
    has_photos: bool,
    amount_asked: Optional[float] = None,
) -> List[Reply]:
    """破了个洞 / 掉色: photos first; then return or exchange at the shop's cost, or for a minor
    defect a small compensation. More than the shop allows needs a supervisor."""
    late = _too_late(order, now, cfg, shop_fault=True)
    if late:
        return [late]
    if not has_photos:
        return [Reply("aftersales.quality_ask_photos")]
    if amount_asked is None or amount_asked <= 0:
        return [Reply("aftersales.quality_options")]
    amount_fen = round(amount_asked * 100)  # compared in fen, so 10.001 yuan is not "above 10"
    if amount_fen > round(cfg.compensation.max_without_approval * 100):
        return [
            Reply(
                "aftersales.compensation_over_limit",
                {"amount": yuan(amount_fen)},
                handoff_reason=HandoffReason.COMPENSATION_OVER_LIMIT,
            )
        ]
    ticket = register_ticket(
        session,
        order,
        TicketKind.COMPENSATION,
        f"质量小瑕疵（买家已发照片），补偿{yuan(amount_fen)}元代替退换",
        now,
        cfg,
        amount_fen=amount_fen,
    )
    return [Reply("aftersales.compensation_registered", {**ticket_slots(ticket), "amount": yuan(ticket.amount_fen)})]


# --- wrong and missing items --------------------------------------------------------------


def wrong_item_reply(session: Session, order: Order, now: datetime, cfg: ShopConfig, missing: bool) -> List[Reply]:
    """发错颜色了 / 少发一件: the shop's mistake, so it re-sends at its cost; the buyer may take a
    refund instead. The ticket records cause and responsibility for the warehouse review."""
    if order.shipped_at is None:
        return [Reply("aftersales.wrong_item_not_shipped", {"order_id": order.id})]
    if missing:
        reason = "漏发：补发缺少的宝贝（买家可改为退款）；责任：仓库打包，待核实"
        phrase = "aftersales.resend_missing"
    else:
        reason = "错发：补发正确的宝贝，错发件运费店铺承担（买家可改为退款）；责任：仓库拣货，待核实"
        phrase = "aftersales.resend_wrong_item"
    ticket = register_ticket(session, order, TicketKind.RESEND, reason, now, cfg)
    return [Reply(phrase, ticket_slots(ticket))]


# --- price differences --------------------------------------------------------------------


def price_diff_reply(order: Order, now: datetime, cfg: ShopConfig) -> List[Reply]:
    """降价了能退差价吗: partial refunds wait until the goods are received, and whether a
    difference is refunded depends on the platform's price protection, so a person checks
    the amount rather than the bot promising one."""
    if order.status is OrderStatus.UNPAID:
        return [Reply("aftersales.price_diff_unpaid")]
    if order.status in (OrderStatus.CLOSED, OrderStatus.REFUNDING):
        return _finished_or_in_refund(order) or []
    if received_on(order) is None:
        return [Reply("aftersales.price_diff_wait_receipt")]
    return [Reply("aftersales.price_diff_check", {"order_id": order.id}, handoff_reason=HandoffReason.PRICE_DIFFERENCE)]

// Package room is Rendezvous's 1:1 video room: WebRTC in the two browsers, with this
// service as the signaling server over a WebSocket (github.com/coder/websocket).
//
// # Links and sides
//
// Each side has its own link and the link admits only that side. The customer is
// authorised by the appointment's customer link token (/room/customer/{token}, or the
// customer journey's page /a/{token}, which embeds the room). The agent is authorised by
// an agent link /room/agent/{org}.{appointment id}.{mac} whose MAC (HMAC-SHA256 under a
// key derived from the service's secrets key) covers the organization, the appointment
// and the assigned agent: nothing is stored, a database dump reveals nothing, and
// reassigning the appointment retires the previous agent's link. A second connection of
// the same side replaces the first (a reload, a reconnect); no one else gets in.
//
// # Signaling protocol
//
// The browser opens the side's page path plus "/ws". The server sends JSON messages:
//
//	{"type":"welcome","side":"agent","epoch":3,"peer":true,"polite":false,"iceServers":[...]}
//	{"type":"peer","epoch":4,"present":false}     the other side came (back) or left
//	{"type":"signal","data":{...}}                 the other side's description or candidate
//	{"type":"ended","reason":"hangup"}             the call is over (then close code 4002)
//
// and the browser sends {"type":"signal","epoch":N,"data":{"description"|"candidate"}} and
// {"type":"hangup"}. Every join or leave starts a new epoch; a signal of an older epoch is
// dropped, so nothing meant for a replaced connection reaches its successor. Whenever the
// peer (re)arrives both browsers start a fresh RTCPeerConnection; the agent makes the
// first offer and later renegotiations follow the perfect-negotiation pattern with the
// customer as the polite side. Close codes: 4001 replaced by another connection of the
// same side, 4002 ended, 4003 too slow, 4004 server shutting down (reconnect). The
// browser side is web/static/room/room.js (RendezvousRoom.mount).
//
// # Status
//
// Joining and leaving move the appointment through the store:
//
//   - in_progress when the customer joins. The customer's arrival is what decides between
//     a meeting and a no-show, so it is the moment that counts; an agent alone in the room
//     is only getting ready.
//   - completed when either side hangs up after the customer came, or when the room has
//     stayed empty for Options.EmptyGrace after both left (so a reload or a dropped
//     network does not end the call), checked by an EmptyJobKind job.
//   - no_show when the appointment's end plus the grace period passes and the customer
//     never joined, decided by a DeadlineJobKind job scheduled when the appointment is
//     created or rescheduled (EventJobKind) and withdrawn when it is cancelled.
//
// Every connection is a store.RoomSession with its join and leave times and a heartbeat,
// so a session left open by a crashed instance stops counting once its heartbeat is staleAfter old (four ping intervals, about 100 s).
//
// # External engines
//
// Engine is the seam for video services that only hand out join URLs or tokens (LiveKit,
// Jitsi, ...). *Rooms is the built-in implementation, URLEngine a minimal external one,
// and EngineLinks adapts any Engine to the customer journey's RoomLinks, so changing
// engines is a change in the wiring.
//
// # Several instances
//
// The hub lives in one process, so both sides of a call must meet in one instance. With
// several instances on one database, each gets Options.InstanceURL (its address as the
// others reach it): the first instance a side of a room reaches claims the room (a lease
// in the room_owners table, renewed with the heartbeat), and any other instance forwards
// that room's WebSockets to it. If the host dies, its lease runs out within a couple of
// minutes and the browsers' reconnects make another instance the host; media keeps
// flowing browser to browser meanwhile.
package room

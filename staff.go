package rendezvous

import (
	"strings"
	"time"
)

// Role is what a staff member may do in Rendezvous. Roles are Rendezvous's own: an
// administrator assigns them, and a Genesys Cloud role can grant one at sign-in.
type Role string

// The roles, from least to most.
const (
	// RoleAgent manages their own appointments.
	RoleAgent Role = "agent"
	// RoleSupervisor manages every appointment of the organization and reassigns them.
	RoleSupervisor Role = "supervisor"
	// RoleAdmin is a supervisor who also manages settings and people.
	RoleAdmin Role = "administrator"
)

// Roles lists every role, least first, in the order they are offered to administrators.
func Roles() []Role { return []Role{RoleAgent, RoleSupervisor, RoleAdmin} }

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r includes everything other may do.
func (r Role) AtLeast(other Role) bool { return r.Valid() && r.rank() >= other.rank() }

// Higher returns the more powerful of r and other.
func (r Role) Higher(other Role) Role {
	if other.rank() > r.rank() {
		return other
	}
	return r
}

// StaffUser is a person who signs in to Rendezvous with their Genesys Cloud account: an
// agent, a supervisor or an administrator of one organization. ID is their Genesys Cloud
// user id, which appointments name as AgentUserID.
type StaffUser struct {
	OrgID string
	ID    string
	Name  string
	Email string
	Role  Role
	// TimeZone (IANA) and Language (en, de, el) are the person's own choices; empty means
	// "as the browser says".
	TimeZone  string
	Language  string
	CreatedAt time.Time
	// LastSignInAt is when they last signed in with Genesys Cloud.
	LastSignInAt time.Time
}

// Supervises reports whether u sees and manages every appointment of the organization.
func (u StaffUser) Supervises() bool { return u.Role.AtLeast(RoleSupervisor) }

// CanView reports whether u may see appointment a. Agents see only the appointments
// assigned to them; supervisors and administrators see all of their organization's. A page
// answers "not found" when this is false, so that an agent cannot even learn that another
// agent's appointment exists.
func CanView(u StaffUser, a *Appointment) bool {
	if a == nil || u.OrgID == "" || u.OrgID != a.OrgID || !u.Role.Valid() {
		return false
	}
	return u.Supervises() || (u.ID != "" && a.AgentUserID == u.ID)
}

// CanEdit reports whether u may change a (edit, reschedule, cancel): whoever may see it,
// while it is still scheduled.
func CanEdit(u StaffUser, a *Appointment) bool {
	return CanView(u, a) && a.Status == StatusScheduled
}

// CanReassign reports whether u may give a to another agent: supervisors and
// administrators, while it is still scheduled.
func CanReassign(u StaffUser, a *Appointment) bool {
	return CanEdit(u, a) && u.Supervises()
}

// CanAssignTo reports whether u may book or move an appointment onto agentUserID's
// calendar: an agent only onto their own, a supervisor onto anyone's.
func CanAssignTo(u StaffUser, agentUserID string) bool {
	if !u.Role.Valid() {
		return false
	}
	return u.Supervises() || (agentUserID != "" && agentUserID == u.ID)
}

// CanAdminister reports whether u may change the organization's settings and people.
func CanAdminister(u StaffUser) bool { return u.Role == RoleAdmin }

// GrantedRole is the role a Genesys Cloud account's roles grant at sign-in: supervisorRole
// and adminRole are the names (compared without regard to case or surrounding space) of
// Genesys Cloud roles configured to grant them; an empty name grants nothing. Everyone is
// at least an agent.
func GrantedRole(genesysRoles []string, supervisorRole, adminRole string) Role {
	has := func(name string) bool {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for _, r := range genesysRoles {
			if strings.EqualFold(strings.TrimSpace(r), name) {
				return true
			}
		}
		return false
	}
	switch {
	case has(adminRole):
		return RoleAdmin
	case has(supervisorRole):
		return RoleSupervisor
	}
	return RoleAgent
}

// SignInRole is the role a person gets when they sign in: the first person of an
// organization becomes its administrator (someone has to be able to assign roles); after
// that, the higher of the role they have (assigned in Rendezvous) and the one their Genesys
// Cloud roles grant. A newcomer without a granting role is an agent.
func SignInRole(first bool, current, granted Role) Role {
	if first {
		return RoleAdmin
	}
	if !current.Valid() {
		current = RoleAgent
	}
	return current.Higher(granted)
}

// CheckRoleChange decides whether a person's role may change from from to to, in an
// organization that has admins administrators (counting this person): an organization
// always keeps at least one administrator, so the last one can be neither demoted nor
// demote themselves.
func CheckRoleChange(admins int, from, to Role) error {
	var p Problems
	switch {
	case !to.Valid():
		p.Add("role", "must be agent, supervisor or administrator")
	case from == RoleAdmin && to != RoleAdmin && admins <= 1:
		p.Add("role", "is the organization's last administrator's; make someone else administrator first")
	}
	return p.Err()
}

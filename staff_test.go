package rendezvous

import "testing"

func TestCanViewEditReassign(t *testing.T) {
	scheduled := &Appointment{OrgID: "o1", AgentUserID: "alice", Status: StatusScheduled}
	cancelled := &Appointment{OrgID: "o1", AgentUserID: "alice", Status: StatusCancelled}
	otherOrg := &Appointment{OrgID: "o2", AgentUserID: "alice", Status: StatusScheduled}
	queued := &Appointment{OrgID: "o1", Status: StatusScheduled}
	alice := StaffUser{OrgID: "o1", ID: "alice", Role: RoleAgent}
	bruno := StaffUser{OrgID: "o1", ID: "bruno", Role: RoleAgent}
	sam := StaffUser{OrgID: "o1", ID: "sam", Role: RoleSupervisor}
	ada := StaffUser{OrgID: "o1", ID: "ada", Role: RoleAdmin}
	nobody := StaffUser{OrgID: "o1", ID: "alice", Role: "janitor"}
	tests := []struct {
		name                 string
		u                    StaffUser
		a                    *Appointment
		view, edit, reassign bool
	}{
		{"agent, own", alice, scheduled, true, true, false},
		{"agent, own, cancelled", alice, cancelled, true, false, false},
		{"agent, another's", bruno, scheduled, false, false, false},
		{"agent, queue appointment without agent", alice, queued, false, false, false},
		{"supervisor", sam, scheduled, true, true, true},
		{"supervisor, cancelled", sam, cancelled, true, false, false},
		{"supervisor, queue appointment", sam, queued, true, true, true},
		{"administrator", ada, scheduled, true, true, true},
		{"supervisor of another org", sam, otherOrg, false, false, false},
		{"agent of another org", alice, otherOrg, false, false, false},
		{"unknown role", nobody, scheduled, false, false, false},
		{"no appointment", sam, nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanView(tt.u, tt.a); got != tt.view {
				t.Errorf("CanView = %v, want %v", got, tt.view)
			}
			if got := CanEdit(tt.u, tt.a); got != tt.edit {
				t.Errorf("CanEdit = %v, want %v", got, tt.edit)
			}
			if got := CanReassign(tt.u, tt.a); got != tt.reassign {
				t.Errorf("CanReassign = %v, want %v", got, tt.reassign)
			}
		})
	}
}

func TestCanAssignToAndAdminister(t *testing.T) {
	tests := []struct {
		u        StaffUser
		agent    string
		assign   bool
		administ bool
	}{
		{StaffUser{ID: "alice", Role: RoleAgent}, "alice", true, false},
		{StaffUser{ID: "alice", Role: RoleAgent}, "bruno", false, false},
		{StaffUser{ID: "alice", Role: RoleAgent}, "", false, false},
		{StaffUser{ID: "sam", Role: RoleSupervisor}, "bruno", true, false},
		{StaffUser{ID: "sam", Role: RoleSupervisor}, "", true, false},
		{StaffUser{ID: "ada", Role: RoleAdmin}, "bruno", true, true},
		{StaffUser{ID: "x", Role: ""}, "x", false, false},
	}
	for _, tt := range tests {
		if got := CanAssignTo(tt.u, tt.agent); got != tt.assign {
			t.Errorf("CanAssignTo(%s %s, %q) = %v, want %v", tt.u.Role, tt.u.ID, tt.agent, got, tt.assign)
		}
		if got := CanAdminister(tt.u); got != tt.administ {
			t.Errorf("CanAdminister(%s) = %v, want %v", tt.u.Role, got, tt.administ)
		}
	}
}

func TestSignInRoles(t *testing.T) {
	tests := []struct {
		name          string
		genesys       []string
		sup, admin    string
		first         bool
		current, want Role
	}{
		{"first person is administrator", []string{"employee"}, "Supervisor", "", true, "", RoleAdmin},
		{"newcomer is agent", []string{"employee"}, "Supervisor", "", false, "", RoleAgent},
		{"genesys supervisor role", []string{"employee", "supervisor "}, "Supervisor", "", false, "", RoleSupervisor},
		{"genesys admin role wins", []string{"Supervisor", "Rendezvous Admin"}, "Supervisor", "rendezvous admin", false, RoleAgent, RoleAdmin},
		{"unconfigured role names grant nothing", []string{"Supervisor", ""}, "", "", false, "", RoleAgent},
		{"assigned role kept when genesys grants less", []string{"employee"}, "Supervisor", "", false, RoleSupervisor, RoleSupervisor},
		{"assigned administrator kept", []string{"Supervisor"}, "Supervisor", "", false, RoleAdmin, RoleAdmin},
		{"grant raises an assigned agent", []string{"Supervisor"}, "Supervisor", "", false, RoleAgent, RoleSupervisor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted := GrantedRole(tt.genesys, tt.sup, tt.admin)
			if got := SignInRole(tt.first, tt.current, granted); got != tt.want {
				t.Errorf("role = %q (granted %q), want %q", got, granted, tt.want)
			}
		})
	}
}

func TestRoleOrder(t *testing.T) {
	if !RoleAdmin.AtLeast(RoleSupervisor) || !RoleSupervisor.AtLeast(RoleAgent) || RoleAgent.AtLeast(RoleSupervisor) {
		t.Error("roles are not ordered agent < supervisor < administrator")
	}
	if Role("").AtLeast(RoleAgent) || Role("boss").Valid() {
		t.Error("an unknown role counts as a role")
	}
}

func TestCheckRoleChange(t *testing.T) {
	for _, c := range []struct {
		admins   int
		from, to Role
		ok       bool
	}{
		{2, RoleAdmin, RoleAgent, true},
		{1, RoleAdmin, RoleSupervisor, false},
		{1, RoleAdmin, RoleAdmin, true},
		{1, RoleAgent, RoleAdmin, true},
		{1, RoleSupervisor, RoleAgent, true},
		{3, RoleAgent, "boss", false},
	} {
		err := CheckRoleChange(c.admins, c.from, c.to)
		if (err == nil) != c.ok {
			t.Errorf("%d admins, %s → %s: %v, want ok=%v", c.admins, c.from, c.to, err, c.ok)
		}
	}
}

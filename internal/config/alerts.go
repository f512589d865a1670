package config

import (
	"fmt"
	"regexp"
)

// alertsDefaults fills the alerts' unset fields; an empty `alerts` ({}, the
// default Pulumi.yaml declares) is none.
func alertsDefaults(c *Config) {
	a := c.Alerts
	if a == nil {
		return
	}
	if a.Emails == nil && a.OldestJobMinutes == 0 && a.GPUNodeHours == 0 {
		c.Alerts = nil
		return
	}
	if a.OldestJobMinutes == 0 {
		a.OldestJobMinutes = 30
	}
	if a.GPUNodeHours == 0 {
		a.GPUNodeHours = 6
	}
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// validateAlerts checks the `alerts` key.
func (c Config) validateAlerts(fail failFunc) {
	a := c.Alerts
	if a == nil {
		return
	}
	if c.Platform != PlatformGKE {
		fail("alerts", fmt.Sprint(a.Emails), "are Cloud Monitoring alert policies, GKE's; the local platform has none")
		return
	}
	if len(a.Emails) == 0 {
		fail("alerts.emails", "[]", "must name at least one address: every alert is emailed")
	}
	for i, e := range a.Emails {
		if !emailPattern.MatchString(e) {
			fail(fmt.Sprintf("alerts.emails[%d]", i), fmt.Sprintf("%q", e), "must be an email address")
		}
	}
	if a.OldestJobMinutes < 1 || a.OldestJobMinutes > 1440 {
		fail("alerts.oldestJobMinutes", a.OldestJobMinutes, "must be 1 to 1440 (a day)")
	}
	if a.GPUNodeHours < 1 || a.GPUNodeHours > 720 {
		fail("alerts.gpuNodeHours", a.GPUNodeHours, "must be 1 to 720 (a month)")
	}
}

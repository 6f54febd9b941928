package policy

// SlashEnds reports whether some route's path ends in "/" after a segment
// ("/admin/", "/users/*/"). Rails, Express, Laravel and ASP.NET Core serve
// "/admin" by a route they were given as "/admin/", so the gateway then
// decides a path without a trailing slash with one too (proxy's
// decideWithSlash); a table without such a route pays nothing for it.
func (t *Table) SlashEnds() bool { return t.slashEnd }

// endsInSlash reports whether compiled path segments end in "/" after a
// segment: an empty last segment that is not the root's.
func endsInSlash(segments []string) bool {
	return len(segments) > 1 && segments[len(segments)-1] == ""
}

package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// A misspelt key causes more errors than its own: `servics:` also leaves
// the file without services:, `clustr:` leaves every service without a
// cluster. Those knock-on errors are true, but read first they send the
// user to the wrong line, so each names its cause and is listed right
// after it, whatever its own position.

// misspelt records an unknown key of mapping n that is a near miss of the
// known key it suggests, so an error about that key missing from n can
// name it as the cause.
func (d *decoder) misspelt(n *yaml.Node, key, suggested string, e *Error) {
	e.key = key
	if d.unknown == nil {
		d.unknown = map[*yaml.Node]map[string]*Error{}
	}
	n = resolve(n)
	if d.unknown[n] == nil {
		d.unknown[n] = map[string]*Error{}
	}
	if _, ok := d.unknown[n][suggested]; !ok {
		d.unknown[n][suggested] = e
	}
}

// causeOf returns the unknown-key error in mapping n that suggested one of
// keys, or nil.
func (d *decoder) causeOf(n *yaml.Node, keys ...string) *Error {
	m := d.unknown[resolve(n)]
	for _, k := range keys {
		if e := m[k]; e != nil {
			return e
		}
	}
	return nil
}

// knockOn adds an error at node at that follows from cause (nil: it stands
// on its own), saying so in its message.
func (d *decoder) knockOn(cause *Error, at *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, consequence(cause, d.pos(at), fmt.Sprintf(format, args...)))
}

// consequence is an error at p with message msg that follows from cause
// (nil: it stands on its own).
func consequence(cause *Error, p Pos, msg string) *Error {
	e := &Error{Pos: p, Msg: msg}
	if cause != nil {
		e.Msg += fmt.Sprintf(" (probably because of the unknown key %q at line %d)", cause.key, cause.Pos.Line)
		e.after = cause
	}
	return e
}

// sortKey places an error: a knock-on error sorts right after its cause,
// an error standing on its own at its position.
func (e *Error) sortKey() (Pos, int, Pos) {
	if e.after != nil {
		return e.after.Pos, 1, e.Pos
	}
	return e.Pos, 0, e.Pos
}

func posLess(a, b Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

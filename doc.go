// Package rendezvous is the domain of Rendezvous, a service that schedules video
// appointments for contact centers running on Genesys Cloud.
//
// This package holds the vocabulary every other package speaks: appointments and their
// statuses, customers, interaction routing, the rules that decide what may change and
// when, and the error kinds the HTTP layer maps to status codes. It does no I/O: storage
// lives in package store, HTTP in package web, Genesys Cloud in package genesys.
package rendezvous

package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Numbers that are phones by their shape only yield to the place they sit
// in: postcodes and house numbers inside an address are LOCATION, and the
// digits stay redacted.
func TestPhoneShapedPostcodesInAddresses(t *testing.T) {
	r := New()
	for _, c := range []struct{ text, digits string }{
		{"Ship the monitors to Rua das Acácias 12, 4821-337 Vilarouca.", "4821-337"},
		{"Our new office: 3-5-8 Nishikawa, Minato-ku, Tokyo 105-0011, Japan.", "105-0011"},
	} {
		assert.Empty(t, found(r, c.text, nil, PhoneNumber), c.text)
		covered := false
		for _, l := range found(r, c.text, nil, Location) {
			covered = covered || strings.Contains(l, c.digits)
		}
		assert.True(t, covered, "%q: %s not inside a LOCATION span", c.text, c.digits)
	}
	// phones with context, a numbering plan or a trunk prefix stay phones
	runTable(t, r, PhoneNumber, []tc{
		{"Call me on 555-0199 after lunch.", []string{"555-0199"}},
		{"reach me at 020 7946 0939 tomorrow", []string{"020 7946 0939"}},
		{"my cell is 641 814 9032", []string{"641 814 9032"}},
	})
}

// Digits grouped unlike North American numbers (5-5) are no US number even
// when the numbering plan would accept the digits: "64181 49032" before a
// street name is a pair of house numbers.
func TestUSNumbersNeedUSGrouping(t *testing.T) {
	runTable(t, patternOnly, PhoneNumber, []tc{
		{"The crate goes to 64181 49032 Ørnevej, Dalsgaard.", nil},
		{"The crate goes to 4821 3377 Ørnevej, Dalsgaard.", nil}, // house numbers before any capitalised street name
		{"call 641 814 9032 or 6418149032 or 1-641-814-9032", []string{"641 814 9032", "6418149032", "1-641-814-9032"}},
	})
}

// A number glued to a word by a dash is a code, not a phone.
func TestPhoneGluedToWordIsCode(t *testing.T) {
	runTable(t, patternOnly, PhoneNumber, []tc{
		{"ticket ref ABX-529-2273 is closed", nil},
		{"Parcel label: Harrowgate KV-529-2273", nil},
		{"ring 529-2273 tonight", []string{"529-2273"}},
	})
}

// IP addresses as logs and configs write them: IPv4 with a port (the
// address is redacted, the port is no PII), IPv6 in brackets, with a zone.
func TestIPForms(t *testing.T) {
	runTable(t, patternOnly, IPAddress, []tc{
		{"server 192.168.1.10:443 refused", []string{"192.168.1.10"}},
		{"upstream=10.0.0.7:8080,10.0.0.8:8080", []string{"10.0.0.7", "10.0.0.8"}},
		{"ssh to [2001:db8::1]:8080 now", []string{"2001:db8::1"}},
		{"link-local fe80::1%eth0 on the box", []string{"fe80::1%eth0"}},
		{"at 12:34:56 and 1.2.3.4.5:80 and 300.1.1.1:80", nil},
	})
}

// Code written in chat is no URL: member access and method calls, package
// and bundle ids in reverse-domain order; real domains stay URLs.
func TestURLNotCode(t *testing.T) {
	runTable(t, patternOnly, URL, []tc{
		{"set git config user.name first", nil},
		{"then self.client.get() returns", nil},
		{"add logger.info(msg) and app.store(x) there", nil},
		{"com.example.app crashed on Android", nil},
		{"org.apache.kafka.clients threw", nil},
		{"see example.com/about and my.name/cv and mail.example.org", []string{"example.com/about", "my.name/cv", "mail.example.org"}},
	})
}

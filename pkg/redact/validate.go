package redact

// luhn checks the Luhn checksum of an ASCII digit string.
func luhn(d []byte) bool {
	sum := 0
	dbl := false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if dbl {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		dbl = !dbl
	}
	return sum%10 == 0
}

// ibanLengths is the IBAN length per country (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// ibanValid checks an upper-case IBAN without spaces: known country, length,
// and mod 97 == 1.
func ibanValid(b []byte) bool {
	if len(b) < 15 || len(b) > 34 {
		return false
	}
	if ibanLengths[string(b[:2])] != len(b) {
		return false
	}
	rem := 0
	step := func(c byte) bool {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
		return true
	}
	for _, c := range b[4:] {
		if !step(c) {
			return false
		}
	}
	for _, c := range b[:4] {
		if !step(c) {
			return false
		}
	}
	return rem == 1
}

// IBANValid reports whether s (spaces allowed, any case) is a valid IBAN.
func IBANValid(s string) bool {
	b := make([]byte, 0, 34)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			continue
		}
		if c >= 'a' && c <= 'z' {
			c -= 32
		}
		b = append(b, c)
		if len(b) > 34 {
			return false
		}
	}
	return ibanValid(b)
}

// ssnValid applies the SSA rules to 9 ASCII digits: area not 000, 666 or
// 900-999; group not 00; serial not 0000; not a well-known invalid number.
func ssnValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area := string(d[:3])
	if area == "000" || area == "666" || d[0] == '9' {
		return false
	}
	if d[3] == '0' && d[4] == '0' {
		return false
	}
	if string(d[5:]) == "0000" {
		return false
	}
	switch string(d) {
	case "078051120", "219099999", "123456789", "111111111", "222222222", "333333333", "444444444", "555555555", "777777777", "888888888":
		return false
	}
	return true
}

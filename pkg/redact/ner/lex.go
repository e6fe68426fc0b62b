package ner

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The shipped lists: real given names, surnames and places from registry
// packages (data/NOTICE.md), and common English words. Hand-written lists
// below hold only closed classes (titles, street types, months...), never names.
//
//go:embed data/given.txt.gz data/surnames.txt.gz data/places.txt.gz data/common.txt.gz data/dict.txt.gz data/products.txt.gz data/vendors.txt.gz data/regions.txt.gz
var listFS embed.FS

// Lexicon flags of a folded word.
const (
	FGiven     uint32 = 1 << iota // a given name (census, Faker locales)
	FSurname                      // a surname
	FPlace                        // a city, country, state, continent (GeoNames)
	FPlacePre                     // first word of a multi-word place
	FCommon                       // a common English word
	FTitle                        // Mr, Dr, Prof, ...
	FStreet                       // Street, Ave, Straße, Rue, ...
	FUnit                         // Apt, Suite, Unit, Floor, ...
	FMonth                        // months and weekdays
	FParticle                     // van, de, al, bin, ...
	FOrg                          // Inc, Ltd, GmbH, University, Bank, ...
	FPersonCtx                    // words that introduce a person (named, Dear, thanks, cc, ...)
	FLocCtx                       // words that introduce a place (in, from, near, lives, moved, ...)
	FRegion                       // US state / Canadian province codes (IL, CA, ON)
	FFunc                         // function words (the, and, of, to, ...)
	FDict                         // a lower-case English dictionary word (SCOWL)
	FProduct                      // a brand or product name (simple-icons): Jira, Nginx, Samsung
	FGreet                        // a greeting or sign-off of some language (Hola, Cheers, Pozdrawiam)
	FChat                         // chat shorthand and tech jargon (pls, lgtm, wfh, repo, prod)
)

// lastFlag is the highest lexicon flag.
const lastFlag = FChat

var titles = `mr mrs ms miss mx dr prof sir madam dame lady lord rev reverend mme mlle herr frau señor senor señora senora sr sra srta don doña dott sig signora
doctor professor captain capt sgt sergeant officer judge justice senator rep gov governor president minister mister missus uncle aunt auntie grandma grandpa
monsieur madame mademoiselle signor signorina dottore dottoressa ing eng engr dipl mag pan pani panie bapak pak ibu bu sheikh shaikh shri smt sri
hr fr frk fru dhr mevr mevrouw meneer sayın bay bayan gospodin gospozha kyrios kyria dona sensei san sama kun chan hajji haji mallam alhaji chief atty hon`

// greetings and sign-offs of several languages (the word before or after a name in e-mails and chat)
var greetWords = `hi hello hey dear hiya howdy greetings morning evening afternoon cheers thanks thank thx ty regards best sincerely yours warmly kind
hola saludos buenos buenas gracias estimado estimada querido querida atentamente abrazos olá ola obrigado obrigada atenciosamente cumprimentos abraço
bonjour bonsoir salut merci cordialement amitiés bises chère cher
hallo liebe lieber grüße gruß grüsse gruss viele herzliche danke servus moin tschüss
ciao salve gentile caro cara grazie saluti cordiali distinti
hoi beste groeten groet hartelijke bedankt dank
hej hejsa hälsningar vänliga mvh hilsen hilsner tack takk tak moi terveisin kiitos
cześć witam szanowny szanowna pozdrawiam pozdrowienia dzięki dziękuję ahoj dobrý zdravím děkuji szia üdv üdvözlettel köszönöm
merhaba selam saygılarımla teşekkürler namaste namaskar salaam salam shukran marhaba shalom toda asante habari jambo sawubona
aloha mahalo konnichiwa arigato annyeong kamsahamnida xin chào chao cảm ơn`

// chat shorthand and tech jargon: lower-case words of workplace chat that are no names
var chatWords = `pls plz thx ty tyvm lgtm ptal btw fyi imo imho afaik iirc tbh ngl idk wfh ooo eod eow asap brb omw np nvm lol lmao rofl ikr smh
gm gn afk ack nack wip tldr tl dr rn atm irl dm dms pr prs mr repo repos prod staging dev env envs infra ops devops sre k8s kube
config configs auth oauth sso mfa api apis sdk cli ui ux db dbs sql nosql backend frontend fullstack middleware cron cronjob
webhook webhooks endpoint endpoints hotfix rollback deploy deploys redeploy rebase refactor linter lint nit nits lgtm
standup retro sync syncs onboarding offboarding oncall pager runbook postmortem jira confluence slack zoom github gitlab`

var streetTypes = `street st avenue ave av road rd boulevard blvd lane ln drive dr court ct way place pl terrace ter circle cir parkway pkwy highway hwy square sq trail trl
crescent cres close mews row alley plaza path walk loop pike expressway freeway green greens heights park hill hills pass landing ridge crossing view vista
gardens grove glen haven hollow junction knoll manor meadow meadows mill mills orchard oval route shore shores springs summit valley village estates
gateway lakes causeway corner corners creek crest cove dale extension falls ferry field fields flat flats ford forest fork forks harbor harbour isle
key lake lodge mount mountain neck port point prairie radial ranch rapids rest river run shoal spur station stream track trace turnpike underpass union
viaduct vista well wells wharf wynd rise parade promenade quay embankment broadway gate gates chase bypass
straße strasse str weg gasse platz allee ring damm ufer chaussee steig pfad
rue avenue chemin allée impasse boulevard quai place cours passage voie sentier
via viale piazza largo corso vicolo strada contrada
calle avenida paseo plaza camino carrera carretera ronda travesía callejón
rua travessa praça estrada alameda largo beco rodovia
straat laan weg plein gracht kade singel dreef steeg
gatan vägen gata väg gränd torget vej gade stræde alle veien vegen gate
katu tie kuja polku
ulica ul aleja al plac osiedle
utca út tér körút
ulice třída náměstí nábřeží
sokak sokağı caddesi cadde bulvarı mahallesi
odos`

var unitWords = `apt apartment suite ste unit room rm floor fl flat building bldg block box po pmb lot dept department`

var monthsDays = `january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun today tomorrow yesterday tonight weekend`

var particleWords = `van von de der den da di del della dos das du des ter ten la le al el bin ibn bint ben abu st mac`

var orgWords = `inc ltd llc plc gmbh ag sa bv corp corporation company co group holdings partners associates foundation institute university college
school bank hospital clinic agency ministry department council committee association society club team labs systems solutions technologies
services consulting software airlines airways motors industries international global`

var personCtxWords = `named name names called dear hi hello hey thanks thank thx ty cc cc: attn signed sincerely regards cheers best ask asked tell told ping pinged
by with and met meet meeting married wife husband son daughter brother sister mother father mom dad friend boss colleague manager
mr mrs ms dr said says say wrote writes replied reported assigned assignee reporter owner author contact from to for per`

var locCtxWords = `in from near at to of lives live living lived moved move moving born based located visit visiting visited travel traveled travelled
trip flight flew fly relocated relocate office offices headquartered city town village state country capital downtown outside across around`

var funcWords = `the a an and or but of to in on at for with by from as is are was were be been being it its this that these those there here
i you he she we they me him her us them my your his our their not no yes do does did have has had will would can could should
may might must shall so if then than too very just also only about into over after before under between out up down off again
don't doesn't didn't can't cannot won't wouldn't couldn't shouldn't isn't aren't wasn't weren't haven't hasn't hadn't it's i'm you're we're
they're he's she's that's there's what's let's i've you've we've i'll you'll we'll i'd you'd ok okay yes yeah hi`

// US state and Canadian province codes.
var regionCodes = `AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT
VA WA WV WI WY DC PR GU VI AS MP AB BC MB NB NL NS NT NU ON PE QC SK YT`

var (
	lexOnce sync.Once
	lex     map[string]uint32 // folded word -> flags
	phrases map[string]bool   // folded multi-word places ("new york")
	maxPhr  int
)

// Load builds the lexicon (once; later calls return at once). It panics when
// the embedded lists are corrupt, which the tests catch.
func Load() { lexOnce.Do(loadLex) }

func readGz(name string) string {
	b, err := listFS.ReadFile("data/" + name)
	if err != nil {
		panic(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	return string(out)
}

func loadLex() {
	lex = make(map[string]uint32, 180_000)
	phrases = make(map[string]bool, 8192)
	add := func(w string, f uint32) {
		if k := FoldString(w); k != "" {
			lex[k] |= f
		}
	}
	words := func(list string, f uint32) {
		for _, w := range strings.Fields(list) {
			add(w, f)
		}
	}
	lines := func(text string, f uint32) {
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if strings.ContainsAny(l, " -") && f&(FPlace) != 0 {
				addPhrase(l)
			}
			if !strings.Contains(l, " ") {
				add(l, f)
			} else if f&(FGiven|FSurname) != 0 {
				// "Di Fazio", "Mai Hạ": every part counts as a name part
				for _, p := range strings.Fields(l) {
					if len(p) > 3 {
						add(p, f)
					}
				}
			}
		}
	}
	lines(readGz("given.txt.gz"), FGiven)
	lines(readGz("surnames.txt.gz"), FSurname)
	lines(readGz("places.txt.gz"), FPlace)
	lines(readGz("common.txt.gz"), FCommon)
	lines(readGz("dict.txt.gz"), FDict)
	words(titles, FTitle)
	words(streetTypes, FStreet)
	words(unitWords, FUnit)
	words(monthsDays, FMonth)
	words(particleWords, FParticle)
	words(orgWords, FOrg)
	words(personCtxWords, FPersonCtx)
	words(locCtxWords, FLocCtx)
	words(funcWords, FFunc)
	words(greetWords, FGreet)
	words(chatWords, FChat)
	for _, l := range strings.Split(readGz("products.txt.gz"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.ContainsAny(l, " ") {
			add(l, FProduct)
		}
	}
	for _, w := range strings.Fields(regionCodes) {
		lex[strings.ToLower(w)+"\x00R"] |= FRegion // only in upper case: see Flags
	}
}

func addPhrase(p string) {
	f := strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '-' })
	if len(f) < 2 {
		return
	}
	for i := range f {
		f[i] = FoldString(f[i])
	}
	phrases[strings.Join(f, " ")] = true
	lex[f[0]] |= FPlacePre
	if len(f) > maxPhr {
		maxPhr = len(f)
	}
}

// ClosedClass returns the words of the hand-written closed-class lists and
// the common English words: the tagger's vocabulary always includes them.
func ClosedClass() []string {
	var out []string
	for _, l := range []string{titles, streetTypes, unitWords, monthsDays, particleWords, orgWords, personCtxWords, locCtxWords, funcWords, greetWords, chatWords, readGz("common.txt.gz")} {
		out = append(out, strings.Fields(l)...)
	}
	return out
}

// Region reports whether word (any case; diacritics folded) is a one-word
// name of a country in a European language or Turkish, or of a state,
// province, region, Land, canton or voivodeship, in regions.txt.gz (PyPI
// pycountry's ISO 3166-1 names and their translations and ISO 3166-2
// subdivision names: data/NOTICE.md). The tagger never sees this list: the
// redactor reads such a word as a place where its position says so
// (pkg/redact/places.go). Loaded on first use.
func Region(word string) bool {
	var buf [64]byte
	_, ok := regions()[string(FoldAppend(buf[:0], word))]
	return ok
}

var regions = wordSet("regions.txt.gz", FoldString)

// Vendor reports whether the folded word (FoldAppend) names a software
// product, a vendor, a company or a software term in vendors.txt.gz (npm
// simple-icons, SVG Logos, cspell's company and software-term dictionaries:
// data/NOTICE.md). The tagger never sees this list: the redactor uses it to
// veto spans (pkg/redact/products.go). Loaded on first use.
func Vendor(folded []byte) bool {
	_, ok := vendors()[string(folded)]
	return ok
}

var vendors = wordSet("vendors.txt.gz", func(w string) string { return w }) // folded already

// wordSet returns a loader of the set of words of an embedded list (one per
// line), each put through key; the list is read on the first call only.
func wordSet(file string, key func(string) string) func() map[string]struct{} {
	return sync.OnceValue(func() map[string]struct{} {
		ws := strings.Fields(readGz(file))
		set := make(map[string]struct{}, len(ws))
		for _, w := range ws {
			set[key(w)] = struct{}{}
		}
		return set
	})
}

// Flags returns the lexicon flags of a word (any case; diacritics folded).
// Region codes only count when written in upper case ("IL", not "il").
func Flags(word string) uint32 {
	Load()
	var buf [64]byte
	k := FoldAppend(buf[:0], word)
	f := lex[string(k)]
	if len(word) == 2 && word[0] >= 'A' && word[0] <= 'Z' && word[1] >= 'A' && word[1] <= 'Z' {
		f |= lex[string(append(k, 0, 'R'))]
	}
	return f
}

// IsPhrase reports whether the folded words (joined by single spaces) are a
// multi-word place.
func IsPhrase(folded string) bool { Load(); return phrases[folded] }

// MaxPhrase is the longest multi-word place in words.
func MaxPhrase() int { Load(); return maxPhr }

// foldRune lower-cases and strips common Latin diacritics.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	if r < 0xC0 {
		return r
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą', 'ạ', 'ả', 'ấ', 'ầ', 'ẩ', 'ẫ', 'ậ', 'ắ', 'ằ', 'ẳ', 'ẵ', 'ặ':
		return 'a'
	case 'ç', 'ć', 'č', 'ĉ', 'ċ':
		return 'c'
	case 'ď', 'đ', 'ð':
		return 'd'
	case 'è', 'é', 'ê', 'ë', 'ē', 'ė', 'ę', 'ě', 'ẹ', 'ẻ', 'ẽ', 'ế', 'ề', 'ể', 'ễ', 'ệ', 'ə':
		return 'e'
	case 'ğ', 'ģ', 'ǧ':
		return 'g'
	case 'ì', 'í', 'î', 'ï', 'ī', 'į', 'ı', 'ỉ', 'ị', 'ĩ':
		return 'i'
	case 'ķ':
		return 'k'
	case 'ĺ', 'ļ', 'ľ', 'ł':
		return 'l'
	case 'ñ', 'ń', 'ņ', 'ň':
		return 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ő', 'ơ', 'ọ', 'ỏ', 'ố', 'ồ', 'ổ', 'ỗ', 'ộ', 'ớ', 'ờ', 'ở', 'ỡ', 'ợ':
		return 'o'
	case 'ŕ', 'ř':
		return 'r'
	case 'ś', 'š', 'ş', 'ș', 'ß':
		return 's'
	case 'ť', 'ţ', 'ț':
		return 't'
	case 'ù', 'ú', 'û', 'ü', 'ū', 'ů', 'ű', 'ų', 'ư', 'ụ', 'ủ', 'ứ', 'ừ', 'ử', 'ữ', 'ự', 'ũ':
		return 'u'
	case 'ý', 'ÿ', 'ỳ', 'ỵ', 'ỷ', 'ỹ':
		return 'y'
	case 'ź', 'ż', 'ž':
		return 'z'
	case '\u2019', '\u2018':
		return '\''
	}
	return r
}

// FoldString lower-cases s and strips common Latin diacritics.
func FoldString(s string) string { return string(FoldAppend(nil, s)) }

// FoldAppend appends the folded form of s to b.
func FoldAppend(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, foldRune(r))
		i += size
	}
	return b
}

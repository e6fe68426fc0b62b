package redact

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// closedWords are closed-class words of the European languages of e-mail
// and chat other than English — articles, prepositions, conjunctions,
// personal and possessive pronouns, weekday and month names, and the words
// of greeting and closing formulas ("Sehr geehrte", "Viele Grüße",
// "Cordialement", "Saludos", "Hoogachtend", "Pozdrawiam", "Srdačan
// pozdrav") — written down by language from each one's grammar, not from
// any corpus, folded to lower case. A span made only of them is no name
// and no place, whatever the tagger says ("Montag", "März", "Dzień dobry",
// "Herzlich"); within a longer span they stay (name particles: "de la
// Cruz", "van Dijk").
//
// Left out on purpose: words that are also common given names or surnames
// somewhere (Turkish ben/sen/ama/selam/nisan/eylül/kasım/ekim/haziran/
// cuma, Croatian ali, Scandinavian han/dag/min/din, Spanish julio/domingo,
// German and Scandinavian august/april/juni/juli/mai/maj, Dutch mei,
// Italian and Portuguese cara/caro/mia/mio/lei/lui/domenica/dia, Romance
// ella/elle, Slavic ty/my/vi/mi/ja/ona/oni, Romanian noi/sa, Finnish tai,
// Croatian bok), and one- and two-letter words other than articles.
var closedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, lang := range []string{
		// German
		`der die das den dem des ein eine einen einem einer und oder aber für mit von vom zu zum zur bei beim aus nach seit
		über unter auf an am im ins ich du er sie es wir ihr ihnen uns euch ihm ihn mich dich sich mein meine dein sein seine
		unser unsere euer bitte
		danke hallo liebe lieber sehr geehrte geehrter geehrten viele grüße gruß herzlich herzliche herzlichen
		freundlichen freundliche beste besten montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar
		märz september oktober november dezember`,
		// French
		`le la les un une des du de au aux et ou mais donc pour par avec sans dans sur sous chez entre vers je tu il nous
		vous ils elles on mon ma mes ton ta tes son sa ses notre votre leur bonjour bonsoir salut merci cordialement
		cordiales amitiés bien bises lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril juin
		juillet août septembre octobre novembre décembre`,
		// Spanish
		`el la los las un una unos unas y o pero para por con sin en de del al desde hasta sobre entre yo tú él nosotros
		ellos usted ustedes mi mis tu tus su sus nuestro nuestra hola saludos atentamente cordialmente gracias buenos
		buenas días tardes noches estimado estimada estimados querido querida lunes martes miércoles jueves viernes
		sábado enero febrero marzo abril mayo junio agosto septiembre setiembre octubre noviembre diciembre`,
		// Portuguese
		`o a os as um uma e ou mas para por com sem em no na nos nas do da dos das ao eu você ele nós vocês eles meu minha
		seu sua olá oi obrigado obrigada cumprimentos atenciosamente abraço abraços beijos prezado prezada prezados bom boa
		tarde noite segunda terça quarta quinta sexta sábado feira janeiro fevereiro março abril maio junho julho agosto
		setembro outubro novembro dezembro`,
		// Italian
		`il lo la i gli le un uno una e o ma per con senza in di da su tra fra del della dei degli delle al alla allo ai
		agli alle dal dalla nel nella sul sulla io tu noi voi loro suo sua nostro vostro ciao salve buongiorno buonasera
		grazie cordiali saluti distinti gentile gentili lunedì martedì mercoledì giovedì venerdì sabato gennaio febbraio
		marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre`,
		// Dutch
		`de het een en of maar voor met zonder in op aan bij van naar uit over onder ik jij je hij zij wij we jullie mijn
		jouw zijn haar ons onze hallo hoi beste geachte groeten groetjes hoogachtend vriendelijke maandag dinsdag woensdag
		donderdag vrijdag zaterdag zondag januari februari maart augustus september oktober november december`,
		// Polish
		`i oraz lub ale w we z ze do na od po przy dla o u za przez państwo dzień dobry cześć witam pozdrawiam pozdrowienia
		serdecznie poważaniem szanowny szanowna szanowni proszę dziękuję poniedziałek wtorek środa czwartek piątek sobota
		niedziela styczeń luty marzec kwiecień czerwiec lipiec sierpień wrzesień październik listopad grudzień`,
		// Swedish, Danish, Norwegian
		`och eller men för med utan i på av till från om jag du hon vi ni de hej hejsan tack hälsningar vänliga mvh kära
		måndag tisdag onsdag torsdag fredag lördag söndag januari februari mars augusti september oktober november
		december og uden af fra jeg hun dem tak hilsen hilsner venlig venlige kære mandag tirsdag lørdag søndag januar
		februar marts uten hei takk vennlig vennlige kjære desember`,
		// Finnish
		`ja mutta hei moi kiitos terveisin ystävällisin maanantai tiistai keskiviikko torstai perjantai lauantai sunnuntai
		tammikuu helmikuu maaliskuu huhtikuu toukokuu kesäkuu heinäkuu elokuu syyskuu lokakuu marraskuu joulukuu`,
		// Czech, Hungarian, Romanian, Croatian
		`a nebo ale v ve s se z na do od pro k u o já on vy dobrý den děkuji pozdravem vážený vážená pondělí úterý středa
		čtvrtek pátek sobota neděle az és vagy de egy üdvözlettel tisztelettel kedves jó napot köszönöm hétfő kedd szerda
		csütörtök péntek szombat vasárnap și sau dar în la pe cu din pentru eu el ea ei stimă stimate stimată bună ziua
		mulțumesc salut luni marți miercuri joi vineri sâmbătă duminică ili sa za poštovani poštovana srdačan pozdrav
		lijep hvala ponedjeljak utorak srijeda četvrtak petak subota nedjelja`,
		// Turkish, Greek
		`ve veya ile bir bu şu biz siz onlar merhaba saygılarımla teşekkürler iyi günler pazartesi salı çarşamba perşembe
		cumartesi pazar ocak şubat mart mayıs temmuz ağustos aralık ο η το οι τα και ή με για σε από αγαπητέ αγαπητή
		εκτίμηση χαιρετισμούς ευχαριστώ καλημέρα`,
		// Round 27: more of the same classes. French "à toi", "à tous"; German "Damen und
		// Herren", "eure"; Norwegian "til stede", "etter påske"; Turkish "lütfen"
		`à toi tous toutes damen herren eure til etter stede påske lütfen teşekkür ederim saygılar`,
		// Swahili
		`habari asante tafadhali wako wenu wangu kwa salamu mpendwa karibu kabla baada mwezi ujao jumatatu jumanne
		jumatano alhamisi ijumaa jumamosi jumapili`,
		// Vietnamese (words of letters and formulas; no word that is a common given name: anh, chị, hai, năm)
		`kính gửi quý khách trân trọng trên vào và của cho với được chủ nhật hỗ trợ đội ngũ xin chào cảm ơn vui lòng hoặc
		bạn`,
		// Indonesian and Malay
		`terima kasih hormat dengan yang dan dari untuk pada hari senin selasa rabu kamis jumat sabtu pagi siang sore malam
		hangat kami anda`,
		// Arabic greetings and closings
		`مع التحية تحياتي السلام عليكم شكرا وشكرا أطيب التحيات مرحبا`,
	} {
		for _, w := range strings.Fields(lang) {
			m[w] = true
		}
	}
	return m
}()

// closedWord reports whether word token t, folded to lower case, is one
// of closedWords; in capitals only with five letters or more (a region or
// country code is no article: "SA", "LA", "IN").
func closedWord(text string, t *ner.Token) bool {
	if t.Kind != ner.KWord || t.E-t.S > 24 || t.Shape == ner.ShUpper && t.E-t.S < 5 || t.Shape == ner.ShInit {
		return false // "SA", "LA", "IN": codes, not function words
	}
	var low [48]byte
	return closedWords[string(foldTo(low[:0], text[t.S:t.E]))]
}

// onlyClosed reports whether every word of ts[a..b] is a closed-class
// word (and there is one): "Montag", "Dzień dobry", "Mit freundlichen
// Grüßen", "Srdačan pozdrav".
func onlyClosed(text string, ts []ner.Token, a, b int) bool {
	words := 0
	for i := a; i <= b; i++ {
		t := &ts[i]
		if t.Kind == ner.KNum {
			return false
		}
		if t.Kind != ner.KWord {
			continue
		}
		if !closedWord(text, t) {
			return false
		}
		words++
	}
	return words > 0
}

// closedAlone reports whether the span ts[a..b], made only of closed-class
// words (onlyClosed), stands where such words are words, not names: its
// line holds, outside the span, a lower-case closed-class word that is no
// English word (the line is in another language: "am Montag in
// Regensburg"), or the span is all its line holds (a greeting or closing
// line: "Hoogachtend", "Srdačan pozdrav,"). In an English line a listed
// surname that is also a weekday of another language stays a name
// ("please ask Freitag").
func closedAlone(text string, ts []ner.Token, a, b int) bool {
	if !onlyClosed(text, ts, a, b) {
		return false
	}
	lo, hi := lineAround(ts, a, b)
	words := 0
	for i := lo; i <= hi; i++ {
		t := &ts[i]
		if i >= a && i <= b || t.Kind != ner.KWord && t.Kind != ner.KNum {
			continue
		}
		words++
		if t.Shape == ner.ShLower && t.Flags&(ner.FFunc|ner.FDict) == 0 && closedWord(text, t) {
			return true
		}
	}
	return words == 0
}

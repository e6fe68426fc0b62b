package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOtherTongueWordsAreNoNames (round 24): in a line written in a
// language other than English — read from its lower-case words: function
// words of that language and words no English or name list knows, more
// than the English ones; a short line takes its window's verdict — a
// lower-case word is no part of a name (those languages write names with a
// capital), so a tagger span is cut at one such word and a span of such
// words alone goes; a piece of listed names left after the cut is a
// PERSON unless a place preposition stands before it; a noun phrase after
// an article of another language is no name unless a list knows a word of
// it (German nouns even when they are listed surnames). English lines,
// listed lower-case names and places after an article stay. Every
// sentence is made up for this test; the tags stand for a draw of the
// tagger (runSpansOf).
func TestOtherTongueWordsAreNoNames(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// a lone lower-case word of the sentence
		{"Schönen Abend noch, wir telefonieren übermorgen wieder.", []string{"PER:übermorgen"}, nil},
		// "la", "de", "el" are foreign function words here, not the English dictionary's
		{"Nos vemos en la sala de la planta baja, la del fondo, trinquel.", []string{"PER:trinquel"}, nil},
		// a function word of another language is no name even when a list holds it
		{"Merci beaucoup pour la Livraison rapide, tout était parfait.", []string{"PER:pour la Livraison"}, nil},
		// beside a capitalised word, a listed lower-case word is no name's either
		{"Bedankt voor het bericht, Ik hoor graag van jullie wanneer het klaar is.", []string{"LOC:Ik hoor"}, nil},
		// lower-case words only, one of them listed ("så")
		{"Tack så mycket för hjälpen med flytten i helgen.", []string{"PER:så mycket"}, nil},
		// "för", "på" are no English words, whatever their folded forms ("for", "pa")
		{"Tack så mycket för boken, vi ses på fredag i stan.", []string{"PER:så mycket"}, nil},
		// a piece loses a closed-class word at its edge
		{"Kære Mette og hele holdet, tusind tak for hjælpen med flytningen i går.", []string{"LOC:Kære Mette og hele holdet"}, []string{"Mette/PERSON"}},
		// a lower-case street word that is a function word there ("av" is Avenue in the lists)
		{"Glöm inte Rapporten av Lindqvist innan fredag.", []string{"LOC:Rapporten av Lindqvist"}, []string{"Lindqvist/PERSON"}},
		// a function word of another language in an English line: the span is still cut
		{"The client said che il Progetto is late again, sadly.", []string{"PER:che il Progetto"}, nil},
		// a line of the window's language that is not plainly English takes its verdict
		{"Hei alle sammen,\n\nvi har sendt pakken til lageret i dag og den kommer snart.\nRing meg hvis noe mangler nå, takk.", []string{"PER:hvis noe"}, nil},
		// a short line: the window's verdict ("miteinander" alone proves nothing)
		{"Guten Abend miteinander,\n\nwir haben die Unterlagen gestern erhalten und prüfen sie sofort.", []string{"PER:miteinander"}, nil},
		// English text: a lower-case chat name stays
		{"omg zorvelina just fixed the build again", []string{"PER:zorvelina"}, []string{"zorvelina/PERSON"}},
		// a listed given name in lower case stays in a foreign line
		{"Hallo zusammen, kommt maria heute noch vorbei?", []string{"PER:maria"}, []string{"maria/PERSON"}},
		// one lower-case word cuts a span in a line of another language
		{"Hartelijk dank voor uw bericht. Wij sturen morgen de offerte.", []string{"LOC:Wij sturen"}, nil},
		// but not in English: "Varek totally" is left as drawn
		{"lol Varek totally nailed the demo for the client today", []string{"PER:Varek totally"}, []string{"Varek totally/PERSON"}},
		// capitals glued to a number are a code, no street word ("ST" is Street)
		{"Paczka czeka na półce ST12 w magazynie od wczoraj.", []string{"LOC:czeka na półce ST"}, nil},
		// a cut piece of listed names is a PERSON
		{"Szanowny panie Kowalski, dziękujemy za wiadomość i odpowiemy jutro.", []string{"LOC:panie Kowalski"}, []string{"Kowalski/PERSON"}},
		// after a place preposition it stays a place
		{"Vi ses på kontoret i Aarhus nästa vecka med hela gruppen.", []string{"LOC:kontoret i Aarhus"}, []string{"Aarhus/LOCATION"}},
		// a noun after an article of another language
		{"Der Drucker steht jetzt im Flur neben der Teeküche.", []string{"PER:Teeküche"}, nil},
		// a listed place after an article stays ("Küche" is a town too)
		{"Der Drucker steht jetzt im Flur neben der Küche.", []string{"PER:Küche"}, []string{"Küche/PERSON"}},
		// a capitalised article inside a sentence is a name's
		{"Gestern hat La Zorvena angerufen, sie kommt morgen.", []string{"PER:La Zorvena"}, []string{"La Zorvena/PERSON"}},
		// the proper-noun rule of lower-case lines (round 14) takes no noun after an article
		{"wir haben die Unterlagen gestern erhalten und prüfen sie sofort.", nil, nil},
		{"Gracias, el Paquete llegó ayer sin problemas.", []string{"LOC:el Paquete"}, nil},
		{"Merci beaucoup. Le Dossier est complet maintenant.", []string{"PER:Le Dossier"}, nil},
		// German: a listed surname after an article is a noun ("der Händler")
		{"Ich habe gestern mit dem Händler telefoniert, er schickt die Rechnung.", []string{"LOC:Händler"}, nil},
		// Italian: a surname after an article stays a name, so does a given name
		{"Domani la Ferrante presenta il progetto ai clienti.", []string{"PER:Ferrante"}, []string{"Ferrante/PERSON"}},
		{"Ieri la Giulia ha chiamato il cliente per noi.", []string{"PER:Giulia"}, []string{"Giulia/PERSON"}},
		// a place after an article stays
		{"Die Schweiz hat gestern neue Regeln für den Export von Käse beschlossen.", []string{"LOC:Die Schweiz"}, []string{"Die Schweiz/LOCATION"}},
		{"Wir fahren nächste Woche in die Schweiz und dann weiter.", []string{"LOC:Schweiz"}, []string{"Schweiz/LOCATION"}},
		// "la", "por" count for Spanish, not as English dictionary words
		{"Hablé con la Cantimplora ayer por la tarde.", []string{"PER:Cantimplora"}, nil},
		// a particle chain is no article ("de la")
		{"Hablé con Ana de la Zorvena ayer por la tarde.", []string{"PER:Zorvena"}, []string{"Zorvena/PERSON"}},
		// title-case nouns of another language, no word of them listed
		{"Trova in allegato: Verbale di Collaudo, firmato ieri dal tecnico.", []string{"LOC:Verbale di Collaudo"}, nil},
		{"Vi ricordiamo che Sportello Unico resterà chiuso per tutta la settimana.", []string{"PER:Sportello Unico"}, nil},
		// one unlisted word stays (a first name the lists lack)
		{"Ciao a tutti, domani Zelindra porta i documenti in ufficio.", []string{"PER:Zelindra"}, []string{"Zelindra/PERSON"}},
		// a listed word makes it a name
		{"Domani arriva Giulia Marrasta per la riunione con il cliente.", []string{"PER:Giulia Marrasta"}, []string{"Giulia Marrasta/PERSON"}},
		// a number: an address, left to the address rules
		{"Consegna presso Cortile Zavattoni 12 entro venerdì prossimo.", []string{"LOC:Cortile Zavattoni 12"}, []string{"Cortile Zavattoni 12/LOCATION"}},
		// in English two unlisted words are a name the lists lack
		{"Please send the signed file to Kelvo Marrasta before noon today.", []string{"PER:Kelvo Marrasta"}, []string{"Kelvo Marrasta/PERSON"}},
		// a heading before a colon opening a line of another language
		{"Avviso: domani la mensa resterà chiusa per lavori.", []string{"PER:Avviso"}, nil},
		// a chat speaker is a listed name; an unlisted one in English stays
		{"Marta: domani porto io i documenti in ufficio.", []string{"PER:Marta"}, []string{"Marta/PERSON"}},
		{"Zorvek: I will bring the files tomorrow morning.", []string{"PER:Zorvek"}, []string{"Zorvek/PERSON"}},
		// not at the line's start: a name before a colon
		{"Morgen sagt Zorvekka: wir fangen pünktlich an, bitte nicht zu spät kommen.", []string{"PER:Zorvekka"}, []string{"Zorvekka/PERSON"}},
		// an article in an English line proves nothing
		{"We met la Varenne yesterday and it went well for everyone.", []string{"PER:Varenne"}, []string{"Varenne/PERSON"}},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}

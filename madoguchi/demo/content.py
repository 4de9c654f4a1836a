"""The demo's cast and stories: who works where, which customers write, what they ask.

Plain data only; `madoguchi.demo.seed` turns it into rows through the services.
"""

from dataclasses import dataclass

DEMO_PASSWORD = "madoguchi-demo"  # noqa: S105 - printed by `make demo`, demo data only
AGENCY_NAME = "窓口サポート株式会社"
AGENCY_SLUG = "madoguchi-support"


@dataclass(frozen=True)
class Person:
    key: str
    email: str
    display_name: str
    role: str
    workspace: str  # "agency" or a shop key
    assigned_shops: tuple[str, ...] = ()
    is_trainee: bool = False


PEOPLE = (
    Person("admin", "admin@madoguchi-support.example", "高橋 美咲", "admin", "agency"),
    Person(
        "supervisor", "supervisor@madoguchi-support.example", "中村 健太", "supervisor", "agency"
    ),
    Person(
        "operator",
        "operator@madoguchi-support.example",
        "佐藤 葵",
        "operator",
        "agency",
        assigned_shops=("tea",),
    ),
    Person(
        "trainee",
        "trainee@madoguchi-support.example",
        "鈴木 翔",
        "operator",
        "agency",
        assigned_shops=("tea",),
        is_trainee=True,
    ),
    Person("client", "owner@yamada-en.example", "山田 太郎", "client", "tea"),
)


@dataclass(frozen=True)
class ShopSpec:
    key: str
    owner_name: str
    owner_slug: str
    name: str
    slug: str
    ticket_prefix: str
    order_prefix: str
    products: tuple[str, ...]
    categories: tuple[str, ...]


SHOPS = (
    ShopSpec(
        key="tea",
        owner_name="株式会社山田園",
        owner_slug="yamada-en",
        name="山田園 茶舗",
        slug="tea",
        ticket_prefix="TEA",
        order_prefix="YE-",
        products=(
            "静岡深蒸し煎茶 100g",
            "宇治抹茶 雅 30g缶",
            "八女玉露 50g",
            "京番茶 200g",
            "ほうじ茶ティーバッグ 20包",
            "季節の茶葉 飲み比べセット",
            "急須と湯呑みのギフトセット",
            "和紅茶 べにふうき 60g",
        ),
        categories=("配送", "返品・交換", "お支払い", "ギフト", "商品", "定期便"),
    ),
    ShopSpec(
        key="ceramics",
        owner_name="青木陶房",
        owner_slug="aoki-tobo",
        name="青木陶房",
        slug="ceramics",
        ticket_prefix="CER",
        order_prefix="AT-",
        products=(
            "織部 七寸皿",
            "粉引 飯碗（大）",
            "灰釉 マグカップ",
            "瑠璃釉 小鉢 5客組",
            "白磁 一輪挿し",
            "鉄釉 土鍋 6号",
            "夫婦湯呑み 桐箱入り",
            "刷毛目 オーバル皿",
        ),
        categories=("配送", "返品・交換", "お支払い", "ギフト", "商品", "修理"),
    ),
)


@dataclass(frozen=True)
class MailSpec:
    """A shop's support address in the demo: verified, sending through the local mail sink."""

    address: str
    display_name: str


MAIL = {
    "tea": MailSpec("support@yamada-en.example", "山田園 茶舗 カスタマーサポート"),
    "ceramics": MailSpec("info@aoki-tobo.example", "青木陶房 お客様窓口"),
}
# `make demo` runs `madoguchi serve --mail-sink 127.0.0.1:1025`: it keeps mail, delivers nothing.
# The shops' outgoing server is the sink at the settings' EMAIL_HOST and EMAIL_PORT.
MAIL_SINK_NAME = "デモ用メールシンク"


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    kana: str
    email: str
    phone: str
    line_name: str = ""


CUSTOMERS = {
    "tea": (
        CustomerSpec(
            "鈴木 花子", "スズキ ハナコ", "hanako.suzuki@example.jp", "090-1234-5601", "はなこ"
        ),
        CustomerSpec(
            "田中 一郎", "タナカ イチロウ", "ichiro.tanaka@example.ne.jp", "080-2345-6702"
        ),
        CustomerSpec(
            "伊藤 由美", "イトウ ユミ", "yumi-ito@example.co.jp", "070-3456-7803", "ゆみ🍵"
        ),
        CustomerSpec("渡辺 翔太", "ワタナベ ショウタ", "shota.w@example.jp", "090-4567-8904"),
        CustomerSpec(
            "小林 真由美", "コバヤシ マユミ", "mayumi.k@example.ne.jp", "03-5555-0105", "まゆみ"
        ),
        CustomerSpec("加藤 誠", "カトウ マコト", "makoto.kato@example.jp", "080-5678-9006"),
        CustomerSpec(
            "吉田 千尋", "ヨシダ チヒロ", "chihiro.y@example.co.jp", "090-6789-0107", "ちひろ"
        ),
        CustomerSpec("山本 恵子", "ヤマモト ケイコ", "keiko.yamamoto@example.jp", "06-5555-0108"),
        CustomerSpec(
            "松本 大輔", "マツモト ダイスケ", "daisuke.m@example.ne.jp", "070-7890-1209", "Daisuke"
        ),
        CustomerSpec(
            "井上 さくら", "イノウエ サクラ", "sakura.inoue@example.jp", "090-8901-2310", "さくら"
        ),
        CustomerSpec("木村 拓也", "キムラ タクヤ", "takuya.kimura@example.co.jp", "080-9012-3411"),
        CustomerSpec("林 美穂", "ハヤシ ミホ", "miho.hayashi@example.jp", "090-0123-4512", "みほ"),
        CustomerSpec("清水 和子", "シミズ カズコ", "kazuko.shimizu@example.ne.jp", "054-555-0113"),
        CustomerSpec("森 直樹", "モリ ナオキ", "naoki.mori@example.jp", "070-1357-2414", "なおき"),
        CustomerSpec("池田 理恵", "イケダ リエ", "rie.ikeda@example.co.jp", "090-2468-3515"),
        CustomerSpec(
            "橋本 陽介", "ハシモト ヨウスケ", "yosuke.h@example.jp", "080-3579-4616", "ようすけ"
        ),
        CustomerSpec("石川 綾", "イシカワ アヤ", "aya.ishikawa@example.ne.jp", "090-4680-5717"),
        CustomerSpec("前田 浩二", "マエダ コウジ", "koji.maeda@example.jp", "075-555-0118"),
        CustomerSpec("藤田 奈々", "フジタ ナナ", "nana.fujita@example.jp", "070-5791-6819", "なな"),
        CustomerSpec("岡田 修", "オカダ オサム", "osamu.okada@example.co.jp", "090-6802-7920"),
        CustomerSpec(
            "後藤 明美", "ゴトウ アケミ", "akemi.goto@example.ne.jp", "080-7913-8021", "あけみ"
        ),
        CustomerSpec("長谷川 悠", "ハセガワ ユウ", "yu.hasegawa@example.jp", "090-8024-9122"),
    ),
    "ceramics": (
        CustomerSpec(
            "村上 美香", "ムラカミ ミカ", "mika.murakami@example.jp", "090-1111-2201", "みか"
        ),
        CustomerSpec("近藤 隆", "コンドウ タカシ", "takashi.kondo@example.ne.jp", "080-2222-3302"),
        CustomerSpec(
            "坂本 彩花", "サカモト アヤカ", "ayaka.s@example.co.jp", "070-3333-4403", "あやか"
        ),
        CustomerSpec("遠藤 良太", "エンドウ リョウタ", "ryota.endo@example.jp", "090-4444-5504"),
        CustomerSpec(
            "青山 知美", "アオヤマ トモミ", "tomomi.aoyama@example.jp", "03-5555-0205", "ともみ"
        ),
        CustomerSpec("藤井 健", "フジイ ケン", "ken.fujii@example.ne.jp", "080-5555-6606"),
        CustomerSpec(
            "西村 麻衣", "ニシムラ マイ", "mai.nishimura@example.jp", "090-6666-7707", "まい"
        ),
        CustomerSpec("福田 聡", "フクダ サトシ", "satoshi.fukuda@example.co.jp", "052-555-0208"),
        CustomerSpec(
            "太田 沙織", "オオタ サオリ", "saori.ota@example.jp", "070-7777-8809", "さおり"
        ),
        CustomerSpec("三浦 亮", "ミウラ リョウ", "ryo.miura@example.ne.jp", "090-8888-9910"),
        CustomerSpec(
            "岡本 由香", "オカモト ユカ", "yuka.okamoto@example.jp", "080-9999-0011", "ゆか"
        ),
        CustomerSpec("松田 剛", "マツダ ツヨシ", "tsuyoshi.matsuda@example.co.jp", "090-1212-3412"),
        CustomerSpec("中島 舞", "ナカジマ マイ", "mai.nakajima@example.jp", "070-2323-4513", "舞"),
        CustomerSpec(
            "原田 俊介", "ハラダ シュンスケ", "shunsuke.harada@example.ne.jp", "0572-55-0214"
        ),
        CustomerSpec("小野 真理", "オノ マリ", "mari.ono@example.jp", "090-3434-5615", "まり"),
        CustomerSpec("竹内 悟", "タケウチ サトル", "satoru.takeuchi@example.jp", "080-4545-6716"),
        CustomerSpec(
            "金子 京子",
            "カネコ キョウコ",
            "kyoko.kaneko@example.co.jp",
            "090-5656-7817",
            "きょうこ",
        ),
        CustomerSpec("和田 洋平", "ワダ ヨウヘイ", "yohei.wada@example.ne.jp", "070-6767-8918"),
        CustomerSpec(
            "中山 瞳", "ナカヤマ ヒトミ", "hitomi.nakayama@example.jp", "090-7878-9019", "ひとみ"
        ),
        CustomerSpec("石井 大地", "イシイ ダイチ", "daichi.ishii@example.jp", "080-8989-0120"),
    ),
}


@dataclass(frozen=True)
class Story:
    """One kind of inquiry; `{product}`, `{order}`, `{shop}` and `{date}` are filled per ticket."""

    category: str
    subject: str
    inquiry: str
    reply: str
    follow_up: str = ""
    second_reply: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()


COMMON_STORIES = (
    Story(
        category="配送",
        subject="{product}の配送状況を教えてください",
        inquiry=(
            "{date}に{product}を注文しました（注文番号 {order}）。"
            "発送のご連絡をいただいてから4日経ちますが、まだ届いていません。"
            "配送状況を確認していただけますでしょうか。"
        ),
        reply=(
            "ご注文の配送状況を確認いたしました。運送会社の追跡情報では、"
            "現在お届け先の営業所に到着しており、本日から明日中に配達予定となっております。"
            "お届けまで今しばらくお待ちいただけますと幸いです。"
        ),
        follow_up="本日無事に受け取りました。ご確認ありがとうございました。",
        second_reply="無事にお受け取りいただけたとのこと、安心いたしました。またのご利用をお待ちしております。",
        note="ヤマト運輸の追跡番号で営業所止まりを確認済み。",
        tags=("配送遅延",),
    ),
    Story(
        category="返品・交換",
        subject="{product}の返品について（{order}）",
        inquiry=(
            "先日届いた{product}ですが、イメージしていたものと違ったため返品したいです。"
            "未開封のままです。返品の手順を教えてください。"
        ),
        reply=(
            "返品のご希望、承知いたしました。未開封品は商品到着後8日以内であれば返品を承っております。"
            "返品用の着払い伝票をお送りしますので、届きましたら商品を同梱のうえご返送ください。"
            "商品の到着を確認後、5営業日以内にご返金いたします。"
        ),
        follow_up="伝票届きました。明日発送します。",
        note="お客様都合の返品。送料はお客様負担の規定だが、初回購入のため当店負担で対応（店長承認済み）。",
        tags=("返品",),
    ),
    Story(
        category="返品・交換",
        subject="{product}が破損して届きました",
        inquiry=(
            "本日{product}が届いたのですが、箱を開けたら破損していました。写真を撮ってあります。"
            "交換していただくことは可能でしょうか。"
        ),
        reply=(
            "この度はご迷惑をおかけし、誠に申し訳ございません。新しい商品を本日中に発送いたします。"
            "お手数ですが、破損した商品の写真をこちらにお送りいただけますでしょうか。"
            "破損品はご返送いただかなくて結構です。"
        ),
        follow_up="写真を送りました。ご対応ありがとうございます。",
        second_reply="写真を拝見しました。交換品は明日午前中にお届けの予定です。重ねてお詫び申し上げます。",
        note="梱包材の不足が原因か。倉庫に緩衝材の見直しを依頼。",
        tags=("破損", "交換"),
    ),
    Story(
        category="お支払い",
        subject="銀行振込の入金確認をお願いします（{order}）",
        inquiry=(
            "{date}に注文番号 {order} の代金を銀行振込でお支払いしました。"
            "振込名義は注文者名と同じです。入金が確認できましたら発送をお願いします。"
        ),
        reply=(
            "ご入金を確認いたしました。ありがとうございます。"
            "ご注文の商品は明日発送予定です。発送後に追跡番号をメールでお知らせいたします。"
        ),
        note="振込名義がカタカナ表記で照合に時間がかかった。経理確認済み。",
        tags=("入金確認",),
    ),
    Story(
        category="ギフト",
        subject="{product}にのしを付けられますか",
        inquiry=(
            "お世話になった方への内祝いとして{product}を贈りたいと考えています。"
            "のし（内祝い・名入れ）をお願いできますか。また、外のしと内のしはどちらがよいでしょうか。"
        ),
        reply=(
            "のしは無料で承っております。ご注文時の備考欄に「内祝い」と表書き、お名入れのお名前をご記入ください。"
            "直接お渡しになる場合は外のし、配送でお送りになる場合は内のしをおすすめしております。"
        ),
        follow_up="内のしでお願いしました。注文番号は {order} です。",
        second_reply="ご注文を確認いたしました。内のし（内祝い）でご用意いたします。",
        tags=("のし", "ギフト"),
    ),
    Story(
        category="商品",
        subject="{product}の再入荷予定はありますか",
        inquiry="{product}が在庫切れになっていますが、再入荷の予定はありますか。入荷したら2点購入したいです。",
        reply=(
            "現在{product}は次回入荷に向けて準備中です。入荷時期が確定しましたらご連絡いたしますので、"
            "今しばらくお待ちください。"
        ),
        note="仕入れ先に入荷予定を確認中。回答待ち。",
        tags=("在庫",),
    ),
    Story(
        category="お支払い",
        subject="領収書の発行をお願いします（{order}）",
        inquiry=(
            "注文番号 {order} の領収書を発行していただけますか。"
            "宛名は「株式会社みどり商事」、但し書きは「お品代として」でお願いします。"
        ),
        reply=(
            "領収書を発行いたしました。マイページの注文履歴からPDFでダウンロードいただけます。"
            "宛名と但し書きはご指定のとおりに設定しております。"
        ),
        follow_up="ダウンロードできました。ありがとうございました。",
        tags=("領収書",),
    ),
    Story(
        category="配送",
        subject="お届け先の変更をお願いします（{order}）",
        inquiry=(
            "注文番号 {order} のお届け先を実家に変更したいです。"
            "新しい住所は 〒420-0031 静岡県静岡市葵区呉服町1-2-3 です。まだ間に合いますか。"
        ),
        reply="お届け先の変更を承りました。まだ発送前でしたので、新しいご住所にお届けいたします。",
        tags=("住所変更",),
    ),
    Story(
        category="お支払い",
        subject="注文のキャンセルをお願いします（{order}）",
        inquiry="{date}に注文した{product}ですが、重複して注文してしまいました。{order}の方をキャンセルしてください。",
        reply=(
            "ご注文 {order} をキャンセルいたしました。"
            "クレジットカードのご請求は取り消しとなります。"
            "カード会社により反映まで数日かかる場合がございます。"
        ),
        tags=("キャンセル",),
    ),
    Story(
        category="配送",
        subject="{product}のお届け日時を指定したいです",
        inquiry="{product}を注文予定です。来週の土曜日の午前中に届くように指定できますか。",
        reply=(
            "お届け日は、ご注文日の3日後から14日後まで指定いただけます。"
            "ご注文画面の「お届け希望日時」で土曜日・午前中をお選びください。"
        ),
        follow_up="指定して注文できました。",
        tags=("配達日時",),
    ),
    Story(
        category="お支払い",
        subject="クーポンが適用されていません（{order}）",
        inquiry=(
            "メルマガのクーポンコードを入力したはずですが、注文確認メールの金額が割引前のままです。"
            "注文番号は {order} です。"
        ),
        reply=(
            "確認いたしましたところ、クーポンの適用条件（3,000円以上）を満たしておりましたが、"
            "システムの不具合で割引が反映されておりませんでした。差額をご返金いたします。"
        ),
        note="同様の問い合わせが他にも2件。システム担当に報告済み。",
        tags=("クーポン", "返金"),
    ),
)

TEA_STORIES = (
    Story(
        category="商品",
        subject="{product}のおいしい淹れ方",
        inquiry="{product}を購入しました。お湯の温度や蒸らし時間など、おいしい淹れ方を教えてください。",
        reply=(
            "70〜80℃に冷ましたお湯で、茶葉は一人あたり約3g、蒸らし時間は1分ほどが目安です。"
            "二煎目は蒸らし時間を短めにしていただくと、香りよくお楽しみいただけます。"
        ),
        follow_up="教えていただいた通りに淹れたら、とても甘みが出ました！",
        tags=("商品質問",),
    ),
    Story(
        category="商品",
        subject="{product}の賞味期限と保存方法",
        inquiry="{product}の賞味期限はどのくらいですか。開封後の保存方法も知りたいです。",
        reply=(
            "未開封で製造から12か月が賞味期限の目安です。開封後は密閉して冷暗所で保存し、"
            "1か月以内にお召し上がりください。冷蔵庫で保存される場合は、常温に戻してから開封してください。"
        ),
        tags=("商品質問",),
    ),
    Story(
        category="定期便",
        subject="定期便を一回お休みしたいです（{product}）",
        inquiry="毎月届く{product}の定期便ですが、まだ在庫があるので来月分だけスキップできますか。",
        reply="来月分の定期便をお休みに設定いたしました。再来月からは通常どおりお届けいたします。",
        follow_up="ありがとうございます。助かります。",
        tags=("定期便",),
    ),
    Story(
        category="ギフト",
        subject="法人ギフトの見積もり依頼（{product} 50個）",
        inquiry=(
            "弊社の創立記念品として{product}を50個ほど検討しております。"
            "名入れの掛け紙と、各拠点への分割配送は可能でしょうか。お見積りをお願いいたします。"
        ),
        reply=(
            "法人様向けのご注文、誠にありがとうございます。50個以上で1割引、名入れ掛け紙は無料で承ります。"
            "分割配送も可能です。お見積書を作成し、明日中にお送りいたします。"
        ),
        note="大口案件。店長（山田様）に見積もり内容の確認を依頼。",
        tags=("法人", "見積もり"),
    ),
    Story(
        category="商品",
        subject="{product}のカフェインについて",
        inquiry="妊娠中なのですが、{product}はカフェインが多いでしょうか。飲んでも大丈夫か気になっています。",
        reply=(
            "{product}のカフェイン量は、一般的な煎茶と同程度です。ほうじ茶や番茶は比較的少なめです。"
            "ご体調については、かかりつけの医師にご相談いただけますと安心です。"
        ),
        tags=("商品質問",),
    ),
)

CERAMICS_STORIES = (
    Story(
        category="商品",
        subject="{product}は電子レンジ・食洗機で使えますか",
        inquiry="{product}の購入を考えています。電子レンジと食洗機は使えますか。",
        reply=(
            "{product}は電子レンジでお使いいただけますが、食洗機のご使用はお控えください。"
            "釉薬の風合いを長く保つため、手洗いをおすすめしております。"
        ),
        tags=("商品質問",),
    ),
    Story(
        category="ギフト",
        subject="{product}に名入れはできますか",
        inquiry="結婚祝いに{product}を贈りたいのですが、裏に二人の名前を入れていただくことはできますか。",
        reply=(
            "名入れは焼成前に彫り込むため、ご注文から約3週間お時間をいただきます。"
            "料金は1点につき1,100円（税込）です。お名前の表記をお知らせください。"
        ),
        follow_up="「Kenji & Yuko」でお願いします。3週間後で大丈夫です。",
        second_reply=(
            "承知いたしました。「Kenji & Yuko」で名入れし、焼き上がり次第ご連絡いたします。"
        ),
        note="窯出しの予定は来月10日。名入れ指示書を工房に回した。",
        tags=("名入れ", "ギフト"),
    ),
    Story(
        category="修理",
        subject="{product}の金継ぎ修理をお願いできますか",
        inquiry="以前購入した{product}の縁が欠けてしまいました。金継ぎで直していただくことはできますか。",
        reply=(
            "金継ぎの修理を承っております。欠けの大きさにより、費用は5,500円〜、期間は2〜3か月ほどです。"
            "欠けた部分の写真をお送りいただければ、お見積りいたします。"
        ),
        note="工房の金継ぎ枠は来月まで埋まっている。納期は長めに伝えること。",
        tags=("修理",),
    ),
    Story(
        category="商品",
        subject="{product}の色味が写真と違います",
        inquiry="届いた{product}が、サイトの写真よりかなり色が濃いように感じます。これは不良品でしょうか。",
        reply=(
            "手作りのため、焼成の具合で一点ごとに色味や釉薬の流れ方が異なります。"
            "不良品ではございませんが、どうしてもお気に召さない場合は交換も承ります。"
        ),
        follow_up="個体差とのことで納得しました。このまま使います。",
        tags=("個体差",),
    ),
    Story(
        category="商品",
        subject="飲食店での使用（{product} 30枚）",
        inquiry=(
            "来春オープン予定の和食店です。{product}を30枚ほど揃えたいのですが、"
            "同じ色味で揃えることは可能でしょうか。業務用の価格もあれば教えてください。"
        ),
        reply=(
            "ご検討ありがとうございます。同じ窯で一度に焼成することで、色味をできるだけ揃えてお作りします。"
            "業務用価格と納期のご案内を別途お送りいたします。"
        ),
        note="次回の窯焚きは来月。30枚なら一窯で可能と青木さんに確認済み。",
        tags=("業務用", "見積もり"),
    ),
)


# Operations: business hours with a lunch break, holidays observed, SLA policies, routing.
@dataclass(frozen=True)
class SlaPolicySpec:
    name: str
    priority: str  # "" matches any priority
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int
    position: int = 0


_WEEKDAY_HOURS = (("10:00", "12:00"), ("13:00", "18:00"))
WEEKLY_HOURS = {**{weekday: _WEEKDAY_HOURS for weekday in range(5)}, 5: (("10:00", "15:00"),)}
BUSINESS_DAY_MINUTES = 7 * 60  # a weekday of WEEKLY_HOURS: 10:00-12:00 and 13:00-18:00
SLA_POLICIES = (
    SlaPolicySpec("標準", "", 4 * 60, 8 * 60, 3 * BUSINESS_DAY_MINUTES),
    SlaPolicySpec("至急", "urgent", 60, 2 * 60, BUSINESS_DAY_MINUTES),
)
ROUND_ROBIN_SHOPS = ("tea",)
